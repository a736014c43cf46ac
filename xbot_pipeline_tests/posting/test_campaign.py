"""The fault campaign: many posts, random X faults, posting processes killed with SIGKILL, then recovery.

Proves: every post is on the stand-in exactly once or in a terminal state with a reason; zero duplicates;
the store agrees with the stand-in post by post; every missing id recovered; no leaked browser; no lost
event. Size: XBOT_CAMPAIGN_POSTS (default 200, about 2 minutes); see docs/POSTING.md for a larger run.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from xbot_pipeline.clock import SystemClock
from xbot_pipeline.content.normalize import normalize_text
from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting.config import fast_config
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.journal import default_journal_path
from xbot_pipeline.posting.live import PARKED
from xbot_pipeline.publishing.api import ApiPublisher
from xbot_pipeline.publishing.base import PostRequest
from xbot_pipeline.publishing.factory import publisher_for_map
from xbot_pipeline.recovery.config import fast_recovery_config
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.sandbox.server import SandboxServer
from xbot_pipeline.sandbox.state import normalize as stand_in_norm
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import ensure_account, list_accounts, resume_account
from xbot_pipeline.store.attempts import attempts_for
from xbot_pipeline.store.posts import list_posts
from xbot_pipeline.store.schema import system_events

pytestmark = pytest.mark.slow

TERMINAL = {"posted", "failed", "failed_permanent", "skipped", "cancelled"}
FAULTS = {  # kind -> (probability per create, params)
    "http_500": (0.05, {}),
    "rate_limit": (0.015, {"reset_s": 1}),
    "hang": (0.03, {"seconds": 2}),
    "missing_id": (0.08, {}),
    "drop": (0.05, {}),
    "duplicate": (0.02, {}),
    "automation": (0.01, {}),
}
BASE_ACCOUNTS = {"xbot_demo": "api", "xbot_second": "api", "xbot_third": "browser"}
POSTS_PER_API_ACCOUNT = 35  # keeps each account's whole campaign inside one 100-post timeline page
HISTORY_AGE = timedelta(hours=1)


def add_history(state, handle: str, n: int = 2) -> set[str]:
    """Give an account posts older than recovery's look-back, as a real account has. Without them a
    young account's timeline never reads back past a post's claim minus the clock slack, so a missing
    post could never be proven absent (it would stay open with its critical alert, by design)."""
    account = state.account(handle)
    ids = set()
    for k in range(n):
        created = state.clock.now() - HISTORY_AGE + timedelta(seconds=k)
        post_id = state.next_id(created)
        text = f"history of {handle} {k}"
        state.sql(
            "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?)",
            (post_id, account.user_id, text, stand_in_norm(text), None, created.isoformat(), "api"),
        )
        ids.add(post_id)
    return ids


def is_parked(post: dict) -> bool:
    return post["status"] == "unknown" and str(post["status_reason"] or "").startswith(PARKED)


def marked_processes(mark: str) -> list[int]:
    """Processes (e.g. Chromium) whose environment carries the campaign's mark."""
    found = []
    needle = f"XBOT_CAMPAIGN_MARK={mark}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if needle in Path(f"/proc/{entry}/environ").read_bytes():
                stat = Path(f"/proc/{entry}/stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry))
        except OSError:
            continue
    return found


def test_fault_campaign(database_url, store, tmp_path):
    n_posts = int(os.environ.get("XBOT_CAMPAIGN_POSTS", "200"))
    rng = random.Random(int(os.environ.get("XBOT_CAMPAIGN_SEED", "7")))
    budget_s = float(os.environ.get("XBOT_CAMPAIGN_BUDGET_S", str(max(100, n_posts * 0.5))))
    mark = uuid.uuid4().hex
    home = tmp_path / "home"
    home.mkdir()
    real = Store.open(database_url, clock=SystemClock(), migrate=False)
    tracker = EventTracker.for_home(real, home)
    with SandboxServer(tmp_path / "x.sqlite3", seed=3) as x:
        x.admin.set_limits(requests_per_window=1_000_000, posts_per_day=1_000_000)
        ACCOUNTS = dict(BASE_ACCOUNTS)
        for k in range(max(0, -(-n_posts // POSTS_PER_API_ACCOUNT) - 2)):
            handle = f"xbot_extra{k}"
            x.state.add_account(handle, user_id=str(1_800_000_000_000_000_000 + k), password="pw")
            ACCOUNTS[handle] = "api"
        specs: dict[str, dict] = {}
        targets: dict[str, str] = {}
        history: set[str] = set()
        for handle, kind in ACCOUNTS.items():
            history |= add_history(x.state, handle)
            ensure_account(real, handle, handle=handle, publisher=kind)
            spec = {"publisher": kind, "token": x.account(handle).token, "handle": handle, "timeout_s": 1.0}
            if kind == "browser":
                spec["session_file"] = str(x.write_storage_state(handle, tmp_path / f"{handle}.json"))
                spec["op_timeout_s"] = 10
            specs[handle] = spec
            with ApiPublisher(x.api_url, spec["token"]) as api:  # something to reply to
                targets[handle] = api.publish(PostRequest("single", [f"reply target of {handle}"])).tweet_id
        # the queue: singles, threads and replies; the browser account gets a small share
        tag = uuid.uuid4().hex[:6]
        for i in range(n_posts):
            weights = [1.0 if kind == "api" else 0.3 for kind in ACCOUNTS.values()]
            handle = rng.choices(list(ACCOUNTS), weights=weights)[0]
            roll = rng.random()
            if roll < 0.15:
                parts = [f"campaign {tag} thread {i} part {k + 1}" for k in range(rng.choice((2, 3)))]
                enqueue(real, handle, "thread", parts)
            elif roll < 0.30:
                enqueue(real, handle, "reply", f"campaign {tag} reply {i}", reply_to=targets[handle])
            else:
                enqueue(real, handle, "single", f"campaign {tag} post number {i}")
        for kind, (prob, params) in FAULTS.items():
            x.admin.inject(kind, prob=prob, **params)
        x.admin.inject("session_expired", next_n=1, account="xbot_second")

        config_path = tmp_path / "runner.json"
        config_path.write_text(
            json.dumps(
                {
                    "database_url": database_url,
                    "home": str(home),
                    "api_url": x.api_url,
                    "web_url": x.web_url,
                    "accounts": specs,
                    "fast": True,
                    "passes": 3,
                    "per_run": 8,
                }
            )
        )
        env = {**os.environ, "XBOT_CAMPAIGN_MARK": mark, "PYTHONUNBUFFERED": "1"}
        started = time.monotonic()
        kills = runs = resumes = 0

        def run(mode: str, kill_after: float | None) -> None:
            nonlocal kills
            t0 = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-m", "xbot_pipeline.passes.runner", mode, str(config_path)],
                env=env,
                stdout=None if os.environ.get("XBOT_CAMPAIGN_VERBOSE") else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            try:
                proc.wait(timeout=kill_after if kill_after is not None else 120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the process and its browser, like a killed run
                proc.wait()
                kills += 1
            err = proc.stderr.read().decode() if proc.stderr else ""
            proc.stderr.close()
            assert proc.returncode in (0, -signal.SIGKILL), err[-2000:]
            if os.environ.get("XBOT_CAMPAIGN_VERBOSE"):
                print(f"{mode} rc={proc.returncode} {time.monotonic() - t0:.1f}s", flush=True)

        def open_posts() -> list[dict]:
            return [p for p in list_posts(real) if p["status"] not in TERMINAL and not is_parked(p)]

        while open_posts() and time.monotonic() - started < budget_s:
            runs += 1
            run("posting", rng.uniform(0.8, 3.0) if rng.random() < 0.6 else None)
            run("recovery", None)
            for account in list_accounts(real):
                if account["status"] == "paused":  # the operator logs in again: `xbot resume-account`
                    resume_account(real, account["id"])
                    resumes += 1
        x.admin.clear_faults()
        # recovery until quiet (faults off); what recovery requeues gets a posting pass
        posting_config = fast_config(journal_path=default_journal_path(home))
        pf = publisher_for_map(specs, api_url=x.api_url, web_url=x.web_url, clock=SystemClock())
        for _ in range(30):
            report = run_recovery(
                real,
                tracker,
                pf,
                config=fast_recovery_config(journal_path=default_journal_path(home)),
                posting_config=posting_config,
            )
            if os.environ.get("XBOT_CAMPAIGN_VERBOSE"):
                print(report.summary(), report.lines, flush=True)
            parked_ids = {p["id"] for p in list_posts(real) if is_parked(p)}
            changed = report.ids_filled or report.reconciled_posted or report.requeued or report.failed
            if not changed and set(report.still_open) <= parked_ids and not open_posts():
                break  # only posts parked for the operator are left: more rounds would not move them
            run("posting", None)
            time.sleep(1.0)
        elapsed = time.monotonic() - started

        # ---- the checks -------------------------------------------------------------------------
        rows = list_posts(real)
        live = x.admin.posts()
        live_by_id = {p["id"]: p for p in live}
        target_ids = set(targets.values())
        per_account = collections.Counter((p["author"], normalize_text(p["text"])) for p in live)
        duplicates = {k: v for k, v in per_account.items() if v > 1}
        statuses = collections.Counter(r["status"] for r in rows)
        no_reason = [r["id"] for r in rows if r["status"] != "posted" and not r["status_reason"]]
        open_left = [r["id"] for r in rows if r["status"] not in TERMINAL and not is_parked(r)]
        # Parked for the operator: X answered "duplicate" to a re-post (the stand-in's injected duplicate
        # fault lies, as a lagging X could) and no read found the original. By design such a post stays
        # 'unknown' with a critical alert, never requeued (it may be live) and never failed. Recovery ran
        # with faults off after it, so a parked post that were live would have been found: none may be.
        parked = [r for r in rows if is_parked(r)]
        live_texts = {(p["author"], normalize_text(p["text"])) for p in live}
        parked_but_live = [
            r["id"]
            for r in parked
            if any((r["account_id"], normalize_text(t)) in live_texts for t in (r["parts"] or [r["text"]]))
        ]
        mismatched, accounted = [], set()
        for r in rows:
            parts = r["parts"] or [r["text"]]
            ids = (r["tweet_ids"] or [r["tweet_id"]]) if r["status"] == "posted" else []
            if r["status"] == "posted":
                if len(ids) != len(parts) or any(i not in live_by_id for i in ids):
                    mismatched.append((r["id"], "ids"))
                    continue
                for i, part in zip(ids, parts, strict=True):
                    item = live_by_id[i]
                    if (
                        normalize_text(item["text"]) != normalize_text(part)
                        or item["author"] != r["account_id"]
                    ):
                        mismatched.append((r["id"], i))
                    accounted.add(i)
            else:
                accounted.update(r["tweet_ids"] or [])
        stray = [p for p in live if p["id"] not in accounted | target_ids | history]
        missing_ids = [r["id"] for r in rows if r["status"] == "posted" and not r["tweet_id"]]
        lost_ids = sum(1 for r in rows for a in attempts_for(real, r["id"]) if a["outcome"] == "posted_no_id")
        with real.connect() as conn:
            events = [dict(e._mapping) for e in conn.execute(sa.select(system_events))]
        by_subject = collections.defaultdict(list)
        for e in events:
            by_subject[e["subject"]].append(e)
        unevented = []
        for r in rows:
            evs = by_subject.get(f"post:{r['id']}", [])
            failed_attempts = [
                a
                for a in attempts_for(real, r["id"])
                if a["outcome"] in ("retryable", "rejected", "posted_no_id", "unknown")
            ]
            for a in failed_attempts:
                # an attempt cut short by a kill is settled by recovery: its event is post_requeued
                wanted = ("post_requeued",) if a["error_type"] == "not_on_timeline" else None
                if wanted and not any(e["event_type"] in wanted or e["is_error"] for e in evs):
                    unevented.append((r["id"], "requeued"))
                if not wanted and not any(e["is_error"] for e in evs):
                    unevented.append((r["id"], "error"))
            if r["status"] == "posted" and not any(
                e["event_type"] in ("post_published", "post_reconciled", "post_id_recovered") for e in evs
            ):
                unevented.append((r["id"], "published"))
        missing_id_errors = [e for e in events if e["event_type"] == "error_post_missing_id"]
        unrecovered_missing = [e["subject"] for e in missing_id_errors if not e["recovered"]]
        spooled = tracker.spool.pending()
        leaked = marked_processes(mark)
        summary = {
            "posts": n_posts,
            "live_posts_on_stand_in": len(live) - len(target_ids),
            "statuses": dict(statuses),
            "parked_for_operator": len(parked),
            "posting_processes": runs,
            "sigkills": kills,
            "operator_resumes": resumes,
            "duplicates": len(duplicates),
            "store_vs_stand_in_mismatches": len(mismatched),
            "stray_live_posts": len(stray),
            "ids_lost_then_recovered": lost_ids,
            "posted_without_id_left": len(missing_ids),
            "error_events": sum(1 for e in events if e["is_error"]),
            "missing_id_errors_unrecovered": len(unrecovered_missing),
            "posts_without_expected_event": len(unevented),
            "events_still_spooled": spooled,
            "leaked_browser_processes": len(leaked),
            "elapsed_s": round(elapsed, 1),
        }
        print("\nCAMPAIGN " + json.dumps(summary, sort_keys=True))
        assert not duplicates, duplicates
        assert not parked_but_live, parked_but_live
        for r in parked:  # the operator was told, once, by a critical event
            unsettled = [
                e for e in by_subject.get(f"post:{r['id']}", []) if e["event_type"].endswith("unsettled")
            ]
            assert unsettled and all(e["severity"] == "critical" for e in unsettled), r["id"]
        assert len(parked) <= max(2, n_posts // 50), [(r["id"], r["status_reason"]) for r in parked]
        assert not open_left, (
            [
                (
                    r["id"],
                    r["account_id"],
                    r["kind"],
                    r["status"],
                    r["status_reason"],
                    r["claimed_by"],
                    [e["event_type"] for e in by_subject.get(f"post:{r['id']}", [])],
                )
                for r in rows
                if r["id"] in open_left
            ]
            + [list_accounts(real)]
            + [
                [
                    e["event_data"].get("error_message")
                    for e in events
                    if e["is_error"] and e["account_id"] == "xbot_third"
                ][-5:]
            ]
        )
        assert not no_reason, f"terminal without a reason: {no_reason}"
        assert not mismatched, [(m, [r for r in rows if r["id"] == m[0]]) for m in mismatched][:3]
        assert not stray, [(p["author"], p["text"]) for p in stray]
        assert not missing_ids and not unrecovered_missing
        assert not unevented, [
            (
                u,
                [(a["outcome"], a["error_type"]) for a in attempts_for(real, u[0])],
                [e["event_type"] for e in by_subject.get(f"post:{u[0]}", [])],
            )
            for u in unevented[:5]
        ]
        assert spooled == 0
        assert not leaked, leaked
        assert statuses["posted"] >= int(0.8 * n_posts)
    real.dispose()
