"""X's posting budget against the real stand-in over real HTTP: the 24-hour caps per account and per app.

Posting stops at the cap with no create call beyond it (the rest wait ``queued``), resumes after the
reset (the stand-in's window is seconds long here), a 429 with the 24-hour headers at 0 holds until the
24-hour reset, the per-app cap is shared by two accounts, ``xbot accounts`` shows what is left, and
hostile headers are ignored.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from xbot_pipeline.clock import SystemClock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting import breaker
from xbot_pipeline.posting.config import XBudgetConfig, fast_config
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.api import ApiPublisher
from xbot_pipeline.publishing.base import Outcome, PostRequest
from xbot_pipeline.publishing.factory import publisher_for_map
from xbot_pipeline.publishing.x_errors import rate_limits
from xbot_pipeline.sandbox.server import DEMO_HANDLE, SandboxServer
from xbot_pipeline.settings import load_settings
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import list_posts
from xbot_pipeline.store.x_budgets import load_x_budget

SECOND = "xbot_second"


@pytest.fixture
def real(store: Store) -> Store:
    """The test's (emptied) store on the wall clock: the stand-in's windows run on real time."""
    return Store(engine=store.engine, clock=SystemClock())


@pytest.fixture
def rtracker(real: Store, xbot_home: Any) -> EventTracker:
    return EventTracker.for_home(real, xbot_home)


def publisher_for(sandbox: SandboxServer, real: Store, *handles: str) -> Any:
    spec = {h: {"publisher": "api", "token": sandbox.account(h).token, "timeout_s": 5} for h in handles}
    return publisher_for_map(spec, api_url=sandbox.api_url, web_url=sandbox.web_url, clock=real.clock)


def creates(sandbox: SandboxServer, handle: str = DEMO_HANDLE) -> int:
    """Create calls the stand-in received from ``handle`` (429s included): X's side of the story."""
    since = datetime.now(UTC) - timedelta(hours=1)
    return len(sandbox.state.calls_since(sandbox.account(handle), "create", since))


def config(**budget: Any) -> Any:
    return fast_config(x_budget=XBudgetConfig(**budget))


def statuses(real: Store, account: str = DEMO_HANDLE) -> list[str]:
    return sorted(p["status"] for p in list_posts(real, account))


def queue(real: Store, account: str, n: int, tag: str) -> None:
    ensure_account(real, account, handle=account, publisher="api")
    for i in range(n):
        enqueue(real, account, "single", f"budget {tag} post {i} of {account}")


def wait_until(when: datetime) -> None:
    time.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()) + 0.3)


def post_through_resets(real, rtracker, pf, cfg, *, want: int, sent_before: int, sandbox) -> int:
    """Posting runs, each after the account's hold ends, until ``want`` more posts went out (at most
    three rounds). Every line is posted or deferred, and no create call is made that X would refuse."""
    resumed = 0
    for _ in range(3):
        wait_until(breaker.state_of(real, DEMO_HANDLE, "api")["forced_until"] or datetime.now(UTC))
        lines = run_posting(real, rtracker, pf, config=cfg).lines
        assert all(x.action.value in ("posted", "deferred") for x in lines), [str(x) for x in lines]
        resumed += sum(x.action.value == "posted" for x in lines)
        assert creates(sandbox) == sent_before + resumed  # never a create call X would refuse
        if resumed >= want:
            break
    return resumed


def test_tier_cap_stops_posting_before_x_says_anything_then_resumes(real, rtracker, sandbox):
    """The tier's cap (3 per user) binds from the store's count alone: X's cap is higher."""
    sandbox.admin.set_limits(day_window_s=4)
    queue(real, DEMO_HANDLE, 5, "tier")
    cfg = config(tier="free", per_user_24h=3, per_app_24h=17, window_s=4)
    pf = publisher_for(sandbox, real, DEMO_HANDLE)
    report = run_posting(real, rtracker, pf, config=cfg)
    assert report.count("posted") == 3, [str(x) for x in report.lines]
    assert creates(sandbox) == 3  # no create call beyond the cap
    assert statuses(real) == ["posted"] * 3 + ["queued"] * 2  # nothing lost: the rest wait
    held = breaker.state_of(real, DEMO_HANDLE, "api")
    assert held["forced_until"] is not None and held["forced_until"] > datetime.now(UTC)
    again = run_posting(real, rtracker, pf, config=cfg)  # before the reset: still nothing goes out
    assert again.count("posted") == 0 and creates(sandbox) == 3
    assert all("X budget spent" in x.detail or "breaker" in x.detail for x in again.lines), again.lines
    # The window slides (as X's does): each of the first three frees its slot 4 s after it went out, so
    # on a loaded machine, with posts seconds apart, the two waiting posts may go out one reset at a time.
    resumed = post_through_resets(real, rtracker, pf, cfg, want=2, sent_before=3, sandbox=sandbox)
    assert resumed == 2 and statuses(real) == ["posted"] * 5 and creates(sandbox) == 5
    assert len(sandbox.admin.posts(DEMO_HANDLE)) == 5


def test_x_headers_at_zero_hold_the_account_until_their_reset(real, rtracker, sandbox):
    """No tier cap: X's own x-user-limit-24hour-remaining reaching 0 stops the next create call."""
    sandbox.admin.set_limits(posts_per_day=2, day_window_s=3)
    queue(real, DEMO_HANDLE, 4, "headers")
    cfg = config(tier="custom")
    pf = publisher_for(sandbox, real, DEMO_HANDLE)
    report = run_posting(real, rtracker, pf, config=cfg)
    assert report.count("posted") == 2 and creates(sandbox) == 2, [str(x) for x in report.lines]
    row = load_x_budget(real, "user", DEMO_HANDLE)
    assert row is not None and (row["cap"], row["remaining"]) == (2, 0)
    forced = breaker.state_of(real, DEMO_HANDLE, "api")["forced_until"]
    assert forced == row["reset_at"]  # held until X's 24-hour reset
    assert statuses(real) == ["posted", "posted", "queued", "queued"]
    assert post_through_resets(real, rtracker, pf, cfg, want=2, sent_before=2, sandbox=sandbox) == 2
    assert creates(sandbox) == 4


def test_a_429_with_the_24_hour_headers_at_0_waits_for_the_24_hour_reset(real, rtracker, sandbox):
    """Posts made elsewhere spent the cap: the 429 holds until the 24-hour reset, not the 15-minute one."""
    sandbox.admin.set_limits(posts_per_day=1, day_window_s=60)
    with ApiPublisher(sandbox.api_url, sandbox.account().token) as other:  # another tool, same user
        assert other.publish(PostRequest("single", ["made elsewhere"])).outcome is Outcome.POSTED
    queue(real, DEMO_HANDLE, 2, "429")
    report = run_posting(real, rtracker, publisher_for(sandbox, real, DEMO_HANDLE), config=config())
    assert report.count("retry") == 1 and report.count("deferred") == 1, [str(x) for x in report.lines]
    assert creates(sandbox) == 2  # the one refused, then nothing more
    forced = breaker.state_of(real, DEMO_HANDLE, "api")["forced_until"]
    assert forced is not None
    assert timedelta(seconds=50) < forced - datetime.now(UTC) < timedelta(seconds=62)  # not 15 minutes
    assert statuses(real) == ["queued", "retry_pending"]


def test_the_app_cap_is_shared_by_two_accounts_and_shown_by_xbot_accounts(real, rtracker, sandbox, settings):
    """Two API accounts of one X app: 3 posts per app between them, shown through the real entry point."""
    sandbox.admin.set_limits(app_posts_per_day=10, day_window_s=30)
    queue(real, DEMO_HANDLE, 3, "app")
    queue(real, SECOND, 3, "app")
    env = {
        "XBOT_HOME": str(settings.home),
        "XBOT_DATABASE_URL": settings.database_url,
        "XBOT_X_TIER": "basic",
        "XBOT_X_POSTS_PER_APP_24H": "3",
        "XBOT_X_APP_NAME": "sandbox-app",
        "XBOT_X_BUDGET_WINDOW_S": "30",
    }
    cfg = fast_config(x_budget=load_settings(env).x_budget)
    assert (cfg.x_budget.per_user_24h, cfg.x_budget.per_app_24h) == (100, 3)
    report = run_posting(real, rtracker, publisher_for(sandbox, real, DEMO_HANDLE, SECOND), config=cfg)
    assert report.count("posted") == 3, [str(x) for x in report.lines]
    assert creates(sandbox, DEMO_HANDLE) + creates(sandbox, SECOND) == 3
    assert sorted(statuses(real, DEMO_HANDLE) + statuses(real, SECOND)) == ["posted"] * 3 + ["queued"] * 3
    assert (load_x_budget(real, "app", "sandbox-app") or {}).get("remaining") == 7  # X's app header

    out, table = xbot_runs({**env, "COLUMNS": "250"}, ["accounts", "--json"], ["accounts"], tmp=settings.home)
    assert out["rc"] == 0, out["stderr"]
    rows = {r["id"]: r for r in json.loads(out["stdout"])}
    for account in (DEMO_HANDLE, SECOND):
        budget = rows[account]["x_budget_24h"]
        assert (budget["app"]["left"], budget["app"]["cap"], budget["app"]["key"]) == (0, 3, "sandbox-app")
        assert budget["app"]["reset_at"] is not None
        assert budget["user"]["cap"] == 100
    assert sum(rows[a]["x_budget_24h"]["user"]["used"] for a in (DEMO_HANDLE, SECOND)) == 3
    assert table["rc"] == 0, table["stderr"]
    assert "X 24 h budget" in table["stdout"] and "'sandbox-app' (tier basic)" in table["stdout"]
    assert "0/3 left, resets" in table["stdout"]


def xbot_runs(env: dict[str, str], *argvs: list[str], tmp: Path) -> list[dict[str, Any]]:
    """``xbot ARGV`` for each argv, through the console entry point (``xbot_pipeline.cli.main``) in forked
    children of one interpreter (``xbot_pipeline_tests.cli.driver``): Dagster is imported once."""
    cases = [
        {"argv": [a.encode().hex() for a in argv], "env": {k: v.encode().hex() for k, v in env.items()}}
        for argv in argvs
    ]
    src, dst = tmp / "cases.json", tmp / "results.json"
    src.write_text(json.dumps(cases))
    driver = [sys.executable, "-m", "xbot_pipeline_tests.cli.driver", str(src), str(dst)]
    done = subprocess.run(driver, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(dst.read_text())
    return results


class HostileX:
    """A real HTTP server answering every create with a post and the headers a test sets."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                raw = json.dumps({"data": {"id": "1850000000000000001", "text": "x"}}).encode()
                self.send_response(201)
                self.send_header("content-type", "application/json")
                for name, value in hostile.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def hostile() -> Iterator[HostileX]:
    server = HostileX()
    yield server
    server.close()


def epoch(delta_s: float) -> str:
    return str(int((datetime.now(UTC) + timedelta(seconds=delta_s)).timestamp()))


HOSTILE = [
    {"x-user-limit-24hour-remaining": "lots", "x-user-limit-24hour-reset": "soon"},
    {"x-user-limit-24hour-remaining": "-3", "x-user-limit-24hour-limit": "-1"},
    {"x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": "-5"},
    {"x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": "1"},  # 1970: in the past
    {"x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": "9" * 14},  # far future
    {"x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": "9" * 40},  # overflow
    {"x-app-limit-24hour-remaining": "0", "x-app-limit-24hour-reset": "4102444800"},  # 2100
    {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1e10"},
    {"x-rate-limit-remaining": "²", "x-rate-limit-reset": epoch(60)},  # Python's isdigit() says yes
    {
        "x-user-limit-24hour-limit": "5",
        "x-user-limit-24hour-remaining": "9",
        "x-user-limit-24hour-reset": epoch(60),
    },
    {"x-user-limit-24hour-remaining": "0.5", "x-user-limit-24hour-reset": epoch(60)},
]


def test_hostile_headers_are_ignored(real, rtracker, hostile):
    """Every hostile value is dropped: each post is posted, nothing is held, no budget row says 0."""
    ensure_account(real, DEMO_HANDLE, handle=DEMO_HANDLE, publisher="api")
    spec = {DEMO_HANDLE: {"publisher": "api", "token": "hostile-token-123", "timeout_s": 5}}
    pf = publisher_for_map(spec, api_url=hostile.url, web_url=hostile.url, clock=real.clock)
    for n, headers in enumerate(HOSTILE):
        hostile.headers = headers
        enqueue(real, DEMO_HANDLE, "single", f"a post meeting hostile headers, case {n}")
        report = run_posting(real, rtracker, pf, config=config(tier="custom"))
        assert report.count("posted") == 1, (headers, [str(x) for x in report.lines])
        assert breaker.state_of(real, DEMO_HANDLE, "api")["forced_until"] is None, headers
        for scope, key in (("user", DEMO_HANDLE), ("app", "default")):
            row = load_x_budget(real, scope, key)
            assert row is None or row["remaining"] != 0, (headers, row)


def test_sane_headers_are_read_on_every_answer(hostile):
    """The publisher returns all three windows, as typed values, on a success."""
    hostile.headers = {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "99",
        "x-rate-limit-reset": epoch(900),
        "x-user-limit-24hour-limit": "17",
        "x-user-limit-24hour-remaining": "16",
        "x-user-limit-24hour-reset": epoch(86_000),
        "X-App-Limit-24hour-Limit": "17",
        "X-App-Limit-24hour-Remaining": "0",
        "X-App-Limit-24hour-Reset": epoch(3600),
    }
    with ApiPublisher(hostile.url, "hostile-token-123") as api:
        result = api.publish(PostRequest("single", ["hello"]))
    limits = result.rate_limits
    assert result.outcome is Outcome.POSTED and limits is not None
    assert limits.window and (limits.window.limit, limits.window.remaining) == (100, 99)
    assert limits.user_24h and (limits.user_24h.limit, limits.user_24h.remaining) == (17, 16)
    assert limits.app_24h and limits.app_24h.exhausted
    assert limits.exhausted_until() == limits.app_24h.reset_at
    assert rate_limits({}) is None and rate_limits(None) is None


def test_threads_count_every_part_and_open_outcomes_count_as_posted(store, clock):
    """The store's count: a 3-part thread is 3 posts on X, an unknown outcome counts, a failure does not."""
    from xbot_pipeline.posting import x_budget
    from xbot_pipeline.store.posts import transition

    ensure_account(store, DEMO_HANDLE, publisher="api")
    thread = enqueue(store, DEMO_HANDLE, "thread", ["one part", "two part", "three part"])
    single = enqueue(store, DEMO_HANDLE, "single", "a single whose fate is open")
    failed = enqueue(store, DEMO_HANDLE, "single", "a single that failed")
    now = clock.now()
    transition(store, thread["id"], ("queued",), "posted", now, posted_at=now, tweet_ids=["1", "2", "3"])
    transition(store, single["id"], ("queued",), "unknown", now, claimed_at=now)
    transition(store, failed["id"], ("queued",), "failed", now)
    cfg = XBudgetConfig(per_user_24h=5, per_app_24h=100)
    user, app = x_budget.account_budgets(store, DEMO_HANDLE, [DEMO_HANDLE], cfg, now)
    assert (user.used, user.left, app.left) == (4, 1, 96)
    waiting = enqueue(store, DEMO_HANDLE, "thread", ["first again", "second again"])
    verdict = x_budget.check(store, DEMO_HANDLE, [DEMO_HANDLE], cfg, waiting, now)
    assert not verdict.allowed and not verdict.spent  # a 2-part thread waits; nothing is held
    assert verdict.reset_at == now + timedelta(hours=24)  # when the thread's 3 parts leave the window
    clock.advance(hours=24, seconds=1)
    assert x_budget.check(store, DEMO_HANDLE, [DEMO_HANDLE], cfg, waiting, clock.now()).allowed


def test_the_tighter_of_store_and_x_header_wins_until_the_header_resets(store, clock):
    from xbot_pipeline.posting import x_budget
    from xbot_pipeline.store.x_budgets import save_x_budget

    ensure_account(store, DEMO_HANDLE, publisher="api")
    cfg = XBudgetConfig(per_user_24h=17, per_app_24h=17)
    now = clock.now()
    save_x_budget(store, "user", DEMO_HANDLE, now, cap=17, remaining=0, reset_at=now + timedelta(hours=3))
    post = enqueue(store, DEMO_HANDLE, "single", "does X's header hold me?")
    verdict = x_budget.check(store, DEMO_HANDLE, [DEMO_HANDLE], cfg, post, now)
    assert (verdict.allowed, verdict.spent, verdict.reset_at) == (False, True, now + timedelta(hours=3))
    assert verdict.user.source == "x" and verdict.app.left == 17
    clock.advance(hours=3, seconds=1)  # X's window reset: the store's count (0 used) rules again
    assert x_budget.check(store, DEMO_HANDLE, [DEMO_HANDLE], cfg, post, clock.now()).allowed


def test_tiers_and_overrides_come_from_settings_with_one_line_errors(tmp_path):
    from xbot_pipeline.settings import SettingsError

    home = {"XBOT_HOME": str(tmp_path)}
    caps = {
        tier: (s.x_budget.per_user_24h, s.x_budget.per_app_24h)
        for tier in ("free", "basic", "pro", "pay_per_use", "custom")
        for s in [load_settings({**home, "XBOT_X_TIER": tier})]
    }
    assert caps == {
        "free": (17, 17),
        "basic": (100, 1667),
        "pro": (None, 10_000),
        "pay_per_use": (None, 10_000),
        "custom": (None, None),
    }
    assert load_settings(home).x_budget.tier == "pay_per_use"
    free = load_settings({**home, "XBOT_X_TIER": "Free", "XBOT_X_POSTS_PER_USER_24H": "5"}).x_budget
    assert (free.per_user_24h, free.per_app_24h) == (5, 17)
    for bad in ({"XBOT_X_TIER": "gold"}, {"XBOT_X_POSTS_PER_APP_24H": "-1"}, {"XBOT_X_BUDGET_WINDOW_S": "0"}):
        with pytest.raises(SettingsError) as err:
            load_settings({**home, **bad})
        assert str(err.value).startswith(next(iter(bad))) and "\n" not in str(err.value)
