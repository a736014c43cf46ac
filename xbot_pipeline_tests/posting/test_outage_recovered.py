"""Issue 11 items 5 and 9: the outcome journal quarantines lines it cannot use and stays 0600 after a
replay; the errors an outage raised are marked recovered (with the time) once the replay fixed things."""

from __future__ import annotations

import os
from dataclasses import replace

import sqlalchemy as sa

from xbot_pipeline.events.quarantine import quarantine_path
from xbot_pipeline.posting import journal
from xbot_pipeline.posting.config import Limits, PostingConfig
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import get_post
from xbot_pipeline.store.schema import system_events

OPEN = Limits(
    per_hour=100, replies_per_hour=100, min_spacing_s=0, threads_per_hour=100, threads_per_day=100, per_run=10
)
DOWN = sa.exc.OperationalError("UPDATE", {}, Exception("connection refused"))


def errors(store, event_type: str) -> list[dict]:
    with store.connect() as conn:
        rows = conn.execute(sa.select(system_events).where(system_events.c.event_type == event_type))
        return [dict(r._mapping) for r in rows]


def test_journal_garbage_is_quarantined_and_the_journal_stays_0600(store, tracker, clock, scripted, tmp_path):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "one")
    path = tmp_path / "outcomes.jsonl"
    good = {"post_id": post["id"], "tweet_id": "111", "tweet_ids": ["111"], "at": clock.now().isoformat()}
    journal.append(path, good)
    with path.open("ab") as fh:
        fh.write(
            b"garbage\n{}\n[]\n" + b'{"post_id": "abc", "at": "x"}\n' + b'{"post_id": 999999, "at": "torn'
        )
    old_umask = os.umask(0o022)
    try:
        rep = run_recovery(store, tracker, lambda a: scripted(), config=RecoveryConfig(journal_path=path))
    finally:
        os.umask(old_umask)
    assert rep.journal_replayed == 1
    assert get_post(store, post["id"])["tweet_id"] == "111"
    assert path.read_bytes() == b""
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    q = quarantine_path(path)
    assert q.read_bytes().count(b"\n") == 5 and b"garbage" in q.read_bytes()
    assert oct(q.stat().st_mode & 0o777) == "0o600"
    reported = errors(store, "error_journal_quarantined")
    assert len(reported) == 1 and reported[0]["event_data"]["context"]["lines"] == 5


def test_a_journal_entry_the_store_cannot_take_yet_is_kept_not_quarantined(store, tmp_path):
    path = tmp_path / "outcomes.jsonl"
    journal.append(path, {"post_id": 1, "at": store.clock.now().isoformat()})

    def down(entry):
        raise DOWN

    done = journal.replay(path, down)
    assert (done.kept, done.quarantined, done.applied) == (1, 0, [])
    assert path.read_text().count("\n") == 1


def test_outage_errors_are_marked_recovered_when_the_replay_fixes_them(
    store, tracker, clock, scripted, tmp_path, monkeypatch
):
    import xbot_pipeline.posting.outcomes as outcomes
    import xbot_pipeline.posting.run as run_module

    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "one")
    config = replace(PostingConfig(limits=OPEN), journal_path=tmp_path / "outcomes.jsonl")
    pub = scripted()
    real_apply, real_list = outcomes.apply_published, run_module.list_accounts

    def down(*args, **kwargs):
        raise DOWN

    # pass 1: the store cannot list the accounts (a pass-wide failure)
    monkeypatch.setattr(run_module, "list_accounts", down)
    run_posting(store, tracker, lambda a: pub, config=config)
    monkeypatch.setattr(run_module, "list_accounts", real_list)
    assert [e["recovered"] for e in errors(store, "error_queue_processing_failed")] == [False]
    clock.advance(60)
    # pass 2: X takes the post, the store write fails: the outcome goes to the journal
    monkeypatch.setattr(outcomes, "apply_published", down)
    report = run_posting(store, tracker, lambda a: pub, config=config)
    assert report.count("store_failed") == 1
    monkeypatch.setattr(outcomes, "apply_published", real_apply)
    assert [e["recovered"] for e in errors(store, "error_store_write_failed")] == [False]
    clock.advance(60)
    # pass 3: the store is back; the replay puts the outcome in the store and closes the outage's errors
    report = run_posting(store, tracker, lambda a: pub, config=config)
    assert report.journal_replayed == 1 and get_post(store, post["id"])["status"] == "posted"
    for event_type in ("error_store_write_failed", "error_queue_processing_failed"):
        rows = errors(store, event_type)
        assert rows and all(r["recovered"] and r["recovered_at"] for r in rows), (event_type, rows)
        assert all(r["recovery_time_ms"] >= 60_000 for r in rows)


def test_a_post_journaled_by_a_killed_process_gets_its_published_event_once(store, tracker, clock, tmp_path):
    """A posting process killed after its journal line and before its event: the replay settles the post
    and says it was published (once; a second replay of an already-told post adds nothing)."""
    from xbot_pipeline.posting.live import replay_journal

    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "killed after the journal line")
    told = enqueue(store, "a1", "single", "killed after its event")
    path = tmp_path / "outcomes.jsonl"
    for p, tid in ((post, "111"), (told, "222")):
        journal.append(
            path, {"post_id": p["id"], "tweet_id": tid, "tweet_ids": [tid], "at": clock.now().isoformat()}
        )
    tracker.track_event(
        "post_published", {"post_id": told["id"]}, component="posting", subject=f"post:{told['id']}"
    )
    assert replay_journal(store, tracker, path, component="recovery") == 2
    published = errors(store, "post_published")
    by_subject = {e["subject"]: e for e in published}
    assert len(published) == 2 and set(by_subject) == {f"post:{post['id']}", f"post:{told['id']}"}
    replayed = by_subject[f"post:{post['id']}"]
    assert replayed["event_data"]["via"] == "journal" and replayed["account_id"] == "a1"
    assert get_post(store, post["id"])["status"] == "posted"
