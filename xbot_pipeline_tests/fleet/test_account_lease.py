"""The account lease (``account:<id>``): one runner drives an account at a time across workers and hosts;
a killed runner's account comes back (at once on its host, at expiry from another host); and a step that
runs twice (Celery redelivery, a duplicated run) never publishes a post twice."""

from __future__ import annotations

import socket
import subprocess
import sys

from xbot_pipeline.posting.config import fast_config
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.lease import ACCOUNT_LEASE_MARGIN_S, account_lease, account_lease_name
from xbot_pipeline.recovery.config import fast_recovery_config
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.leases import acquire_lease, get_lease
from xbot_pipeline.store.posts import claim, get_post

OTHER_HOST = "worker-b.example:4242:run-b"  # a holder on another machine: liveness cannot be checked
CONFIG = fast_config()
TTL_S = CONFIG.lease_deadline_s + ACCOUNT_LEASE_MARGIN_S


def _setup(store, n_accounts: int = 1):
    ids = []
    for i in range(n_accounts):
        ensure_account(store, f"acct{i}", publisher="api", limits={"min_spacing_s": 0, "per_run": 5})
        ids.append(enqueue(store, f"acct{i}", "single", f"lease test post of acct{i}")["id"])
    return ids


def test_an_account_held_by_another_worker_is_left_to_it(store, tracker, scripted):
    [pid] = _setup(store)
    assert acquire_lease(store, account_lease_name("acct0"), OTHER_HOST, "posting", TTL_S)
    publisher = scripted()
    report = run_posting(store, tracker, lambda a: publisher, config=CONFIG)
    assert report.accounts["acct0"].startswith("busy") and publisher.requests == []
    assert get_post(store, pid)["status"] == "queued"
    recovery = run_recovery(store, tracker, lambda a: publisher, config=fast_recovery_config())
    assert recovery.quiet  # nothing open yet; the busy account is not touched either
    assert get_lease(store, account_lease_name("acct0"))["holder"] == OTHER_HOST


def test_another_hosts_lease_is_taken_once_it_expires(store, tracker, scripted, clock):
    """A worker host killed mid-pass: its lease cannot be checked from here, so it runs out."""
    [pid] = _setup(store)
    assert acquire_lease(store, account_lease_name("acct0"), OTHER_HOST, "posting", TTL_S)
    clock.advance(seconds=TTL_S + 1)
    publisher = scripted()
    report = run_posting(store, tracker, lambda a: publisher, config=CONFIG)
    assert report.count("posted") == 1 and len(publisher.requests) == 1
    assert get_post(store, pid)["status"] == "posted"
    assert get_lease(store, account_lease_name("acct0")) is None  # released at the end of the pass


def test_a_dead_local_workers_lease_is_freed_at_once(store, tracker, scripted):
    [pid] = _setup(store)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    holder = f"{socket.gethostname()}:{dead.stdout.strip()}:killed-run"
    assert acquire_lease(store, account_lease_name("acct0"), holder, "posting", TTL_S)
    publisher = scripted()
    report = run_posting(store, tracker, lambda a: publisher, config=CONFIG)
    assert report.count("posted") == 1 and get_post(store, pid)["status"] == "posted"


def test_a_step_run_twice_publishes_each_post_once(store, tracker, scripted):
    """A redelivered step is the same pass again: every row it would post is posted or claimed already."""
    ids = _setup(store, 3)
    publisher = scripted()
    first = run_posting(store, tracker, lambda a: publisher, config=CONFIG, run_id="run-1")
    again = run_posting(store, tracker, lambda a: publisher, config=CONFIG, run_id="run-1")
    assert first.count("posted") == 3 and again.count("posted") == 0
    assert len(publisher.requests) == 3
    assert all(get_post(store, i)["status"] == "posted" for i in ids)


def test_a_post_claimed_by_a_killed_worker_is_never_reclaimed_by_posting_and_recovery_settles_it(
    store, tracker, scripted, clock
):
    """The worker died after X took the post: posting leaves the claimed row alone; recovery (after its
    settle time, the lease long expired) finds it live on the timeline and never requeues it."""
    [pid] = _setup(store)
    row = get_post(store, pid)
    assert claim(store, pid, OTHER_HOST, clock.now())
    publisher = scripted()
    publisher.live(row["text"])  # what the dead worker sent
    clock.advance(seconds=1)
    report = run_posting(store, tracker, lambda a: publisher, config=CONFIG)
    assert report.count("posted") == 0 and publisher.requests == []
    clock.advance(seconds=fast_recovery_config().stuck_after_s + TTL_S)
    recovery = run_recovery(store, tracker, lambda a: publisher, config=fast_recovery_config())
    assert recovery.reconciled_posted == [pid]
    assert get_post(store, pid)["status"] == "posted" and publisher.requests == []


def test_the_lease_is_released_on_every_path(store):
    ensure_account(store, "acct0", publisher="api")
    try:
        with account_lease(store, "acct0", "me:1:x", "posting", TTL_S) as lease:
            assert lease is not None and lease.renew()
            raise RuntimeError("the pass failed")
    except RuntimeError:
        pass
    assert get_lease(store, account_lease_name("acct0")) is None
    with account_lease(store, "acct0", "me:1:x", "posting", TTL_S) as lease:
        assert lease is not None
        with account_lease(store, "acct0", "you:2:y", "posting", TTL_S) as other:
            assert other is None
        store.clock.advance(seconds=TTL_S + 1)
        assert acquire_lease(store, account_lease_name("acct0"), "you:2:y", "posting", TTL_S)
        assert not lease.renew() and lease.lost  # expired and taken: the pass stops driving the account
    assert get_lease(store, account_lease_name("acct0"))["holder"] == "you:2:y"  # not released by "me"
