"""Posting through a stored OAuth 2.0 sign-in whose access tokens expire every few seconds: every post
goes out once, tokens are refreshed many times (exactly once per expiry, also with two posting processes
racing), a dead refresh token pauses the account until `xbot auth login`, and no secret is written
anywhere. Real HTTP to the stand-in, production's posting pass.

Size: XBOT_AUTH_CAMPAIGN_POSTS (default 20), XBOT_AUTH_CAMPAIGN_TOKEN_S (access token lifetime, default
5), XBOT_AUTH_CAMPAIGN_SECONDS (the time the posts are spread over, default 12). The full run of the
issue, printed figures in docs/BENCHMARKS.md:

    XBOT_AUTH_CAMPAIGN_POSTS=60 XBOT_AUTH_CAMPAIGN_TOKEN_S=20 XBOT_AUTH_CAMPAIGN_SECONDS=120 \\
      .venv/bin/python -m pytest -q -s xbot_pipeline_tests/auth/test_campaign.py -k campaign
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from xbot_pipeline.alerts.engine import evaluate_alerts
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.auth.login import resume_after_login
from xbot_pipeline.auth.oauth2 import refresh
from xbot_pipeline.clock import SystemClock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.passes.from_settings import posting_pass
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.runtime import open_runtime
from xbot_pipeline.sandbox.server import SandboxServer
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import get_account, update_limits
from xbot_pipeline.store.credentials import get_credentials
from xbot_pipeline.store.posts import list_posts
from xbot_pipeline.store.schema import account_credentials, system_events
from xbot_pipeline_tests.auth.conftest import (
    ACCOUNT,
    FAST_LIMITS,
    HANDLE,
    api_account,
    child_env,
    files_under,
    sign_in,
    xbot_popen,
)

POSTS = int(os.environ.get("XBOT_AUTH_CAMPAIGN_POSTS", "20"))
TOKEN_S = float(os.environ.get("XBOT_AUTH_CAMPAIGN_TOKEN_S", "5"))
SECONDS = float(os.environ.get("XBOT_AUTH_CAMPAIGN_SECONDS", "12"))


class Capture:
    """An alert sender that keeps what it was asked to deliver (the payloads the scan reads)."""

    channel = "webhook"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, text: str) -> bool:
        self.sent.append(text)
        return True


def _queue(store: Store, n: int, tag: str) -> list[str]:
    texts = [f"sign-in campaign {tag} post {i} ({uuid.uuid4().hex[:6]})" for i in range(n)]
    for text in texts:
        enqueue(store, ACCOUNT, "single", text)
    return texts


def _check_every_post_once(x: SandboxServer, store: Store, texts: list[str]) -> dict[str, int]:
    rows = list_posts(store, ACCOUNT)
    live = [p["text"] for p in x.admin.posts(HANDLE)]
    lost = [t for t in texts if t not in live]
    doubled = [t for t in set(live) if live.count(t) > 1]
    assert all(r["status"] == "posted" and r["tweet_id"] for r in rows), {r["status"] for r in rows}
    assert not lost and not doubled and len(live) == len(texts)
    return {"posted": len(rows), "lost": len(lost), "doubled": len(doubled)}


def _refreshes(x: SandboxServer, store: Store) -> tuple[int, int, int]:
    stats = x.admin.oauth_stats().get(HANDLE, {})
    stored = get_credentials(store, ACCOUNT)
    assert stored is not None
    return stats.get("refresh", 0), stats.get("invalid_grant", 0), int(stored["refresh_count"])


def _secrets(x: SandboxServer, extra: list[str]) -> list[str]:
    """Every token the stand-in ever issued, its apps' secrets, OAuth 1.0a keys, plus ``extra``."""
    tokens = [r[0] for r in x.state.sql("SELECT token FROM oauth_tokens")]
    tokens += [r[0] for r in x.state.sql("SELECT client_secret FROM oauth_clients") if r[0]]
    tokens += [r[0] for r in x.state.sql("SELECT consumer_secret FROM oauth1_consumers")]
    tokens += [r[1] for r in x.state.sql("SELECT token, token_secret FROM oauth1_tokens")]
    return [t for t in tokens + extra if t]


def assert_nothing_secret_written(
    x: SandboxServer, store: Store, home: Any, database_url: str, alerts: list[str], extra: list[str]
) -> int:
    """Grep the events table, every file under XBOT_HOME (logs, spool, journal, snapshot) but the 0600
    vault, the sealed credentials column and the SQLite file itself, and the alert payloads."""
    secrets = _secrets(x, extra)
    with store.connect() as conn:
        events = [json.dumps(dict(r._mapping), default=str) for r in conn.execute(sa.select(system_events))]
        sealed = [r[0] for r in conn.execute(sa.select(account_credentials.c.sealed))]
    haystacks = {"events": "\n".join(events), "alerts": "\n".join(alerts), "sealed": "\n".join(sealed)}
    for path in files_under(home, skip=("credentials",)):
        haystacks[str(path)] = path.read_bytes().decode("utf-8", "replace")
    found = [(name, s[:12]) for name, text in haystacks.items() for s in secrets if s in text]
    if database_url.startswith("sqlite"):
        found += _grep_in_another_process(database_url.partition(":///")[2], secrets)
    assert not found, found
    assert events, "the campaign wrote no events: nothing was scanned"
    return len(secrets)


_GREP = """
import json, os, sys
job = json.load(sys.stdin)
found = []
for path in job["files"]:
    if os.path.exists(path):
        data = open(path, "rb").read()
        found += [[path, s[:12]] for s in job["secrets"] if s.encode() in data]
print(json.dumps(found))
"""


def _grep_in_another_process(db: str, secrets: list[str]) -> list[tuple[str, str]]:
    """The SQLite file and its WAL, read by another process: closing a file descriptor of a SQLite
    database drops every POSIX lock this process holds on it, which would break the store under test."""
    job = json.dumps({"files": [db, db + "-wal"], "secrets": secrets})
    out = subprocess.run([sys.executable, "-c", _GREP], input=job, capture_output=True, text=True, timeout=60)
    return [tuple(item) for item in json.loads(out.stdout)]


def test_campaign_refreshes_tokens_and_posts_every_post_once(real_store, x, vault, auth_env, auth_settings):
    x.admin.set_limits(access_token_s=TOKEN_S)
    api_account(real_store)
    update_limits(real_store, ACCOUNT, {**FAST_LIMITS, "per_run": 1})
    _, login = sign_in(x, real_store, vault)
    texts = _queue(real_store, POSTS, "single")
    runtime = open_runtime(auth_settings, clock=SystemClock())
    interval = SECONDS / POSTS
    started = time.monotonic()
    deadline = started + SECONDS * 3 + 30
    while time.monotonic() < deadline:
        began = time.monotonic()
        posting_pass(runtime)
        if all(p["status"] == "posted" for p in list_posts(real_store, ACCOUNT)):
            break
        time.sleep(max(0.0, interval - (time.monotonic() - began)))
    elapsed = time.monotonic() - started
    counts = _check_every_post_once(x, real_store, texts)
    at_x, refused, stored = _refreshes(x, real_store)
    print(
        f"\nsign-in campaign: {counts['posted']} posts in {elapsed:.1f} s with {TOKEN_S:g} s tokens: "
        f"{at_x} refreshes at X, {stored} stored, {refused} invalid_grant, "
        f"{counts['lost']} lost, {counts['doubled']} doubled"
    )
    assert refused == 0 and at_x == stored
    assert at_x >= max(1, math.floor(elapsed / TOKEN_S) - 1)  # refreshed again and again
    assert at_x <= math.ceil(elapsed / (TOKEN_S * 0.75)) + 1  # and not more than once per expiry
    assert_nothing_secret_written(
        x, real_store, auth_settings.home, auth_settings.database_url, [], [login.code_verifier]
    )


def test_two_processes_racing_refresh_once_per_expiry(real_store, x, vault, auth_env, auth_settings):
    x.admin.set_limits(access_token_s=TOKEN_S)
    api_account(real_store)
    update_limits(real_store, ACCOUNT, {**FAST_LIMITS, "per_run": 1})
    sign_in(x, real_store, vault)
    texts = _queue(real_store, POSTS, "race")
    interval = 2 * SECONDS / POSTS  # two of them: together one post per SECONDS / POSTS
    args = [sys.executable, "-m", "xbot_pipeline_tests.auth.poster", str(SECONDS * 3 + 30), str(interval)]
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            args, env=child_env(auth_env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=SECONDS * 3 + 90) for p in procs]
    elapsed = time.monotonic() - started
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    counts = _check_every_post_once(x, real_store, texts)
    at_x, refused, stored = _refreshes(x, real_store)
    print(
        f"\nsign-in race (2 processes): {counts['posted']} posts in {elapsed:.1f} s with {TOKEN_S:g} s "
        f"tokens: {at_x} refreshes "
        f"at X, {stored} stored, {refused} invalid_grant, {counts['lost']} lost, {counts['doubled']} doubled"
    )
    assert refused == 0 and at_x == stored and at_x >= 1
    assert at_x <= math.ceil(elapsed / (TOKEN_S * 0.75)) + 1  # one refresh per expiry, not one per process
    assert_nothing_secret_written(x, real_store, auth_settings.home, auth_settings.database_url, [], [])


@pytest.mark.parametrize("how", ["revoked", "reused"])
def test_a_dead_refresh_token_pauses_until_login_and_nothing_is_lost(
    real_store, x, vault, auth_env, auth_settings, how
):
    home = auth_settings.home
    tracker = EventTracker.for_home(real_store, home)
    sender = Capture()
    evaluate_alerts(real_store, tracker, sender, HealthThresholds())  # the cursor starts here
    x.admin.set_limits(access_token_s=60)
    api_account(real_store)
    app, login = sign_in(x, real_store, vault)
    texts = _queue(real_store, 3, how)
    if how == "revoked":  # the user revoked the app on X: every token dies
        x.admin.revoke(HANDLE)
    else:  # somebody else used our refresh token (a copied store): ours is spent
        refresh(
            app,
            str(vault.open(ACCOUNT, get_credentials(real_store, ACCOUNT)["sealed"])["refresh_token"]),
            clock=SystemClock(),
        )
        with real_store.begin() as conn:  # our access token is due: the next call refreshes
            conn.execute(account_credentials.update().values(expires_at=SystemClock().now()))
    runtime = open_runtime(auth_settings, clock=SystemClock())
    posting_pass(runtime)
    account = get_account(real_store, ACCOUNT)
    assert account["status"] == "paused" and f"xbot auth login {ACCOUNT}" in account["status_reason"]
    statuses = sorted(p["status"] for p in list_posts(real_store, ACCOUNT))
    assert statuses == ["blocked", "queued", "queued"]  # waiting, not failed: nothing is lost
    assert get_credentials(real_store, ACCOUNT)["status"] == "refused"
    with real_store.connect() as conn:
        critical = conn.execute(
            sa.select(system_events).where(
                system_events.c.severity == "critical", system_events.c.account_id == ACCOUNT
            )
        ).all()
    assert len(critical) == 1
    evaluate_alerts(real_store, tracker, sender, HealthThresholds())
    assert any(f"xbot auth login {ACCOUNT}" in text for text in sender.sent), sender.sent

    # the operator signs in again: the account resumes and the posts go out
    if how == "reused":  # `xbot auth login --paste`, the real command
        proc = xbot_popen(auth_env, "auth", "login", ACCOUNT, "--client-id", app.client_id, "--paste")
        try:
            url = next(line.strip() for line in iter(proc.stdout.readline, "") if line.startswith("http"))
            out_text, err_text = proc.communicate(x.admin.approve(url, HANDLE) + "\n", timeout=60)
        finally:
            proc.kill() if proc.poll() is None else None
        assert proc.returncode == 0, err_text
        assert "active again" in out_text, out_text
    else:  # what the command runs, in-process (one interpreter start less for CI)
        sign_in(x, real_store, vault)
        assert resume_after_login(real_store, ACCOUNT)
    posting_pass(runtime)
    _check_every_post_once(x, real_store, texts)
    assert x.admin.oauth_stats()[HANDLE]["invalid_grant"] >= 1
    assert_nothing_secret_written(
        x, real_store, home, auth_settings.database_url, sender.sent, [login.code_verifier]
    )
