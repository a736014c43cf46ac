"""posting_job and recovery_job through Dagster's Celery executor: 2 real Celery workers on the `api` queue
and 1 on the `browser` queue (subprocesses, `xbot worker`), the local RabbitMQ, a Postgres Dagster
instance, 12 API accounts and 3 browser accounts (real headless Chromium) on the stand-in.

Two posting runs are launched at once over the same accounts (what a redelivered or duplicated step
does): the account lease and the atomic claim let each post out exactly once. Recovery then fills the ids
the stand-in withheld. The browser worker drives its accounts in one Chromium, one context each. Every
worker process is killed at the end, whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import get_post
from xbot_pipeline_tests import dbutil
from xbot_pipeline_tests.procutil import XBOT
from xbot_pipeline_tests.production.conftest import ROOT, dagster_pg_url

BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
ACCOUNTS = 12
POSTS_PER_ACCOUNT = 2
BROWSER_HANDLES = ("xbot_demo", "xbot_second", "xbot_third")  # the stand-in's accounts, one session each
WORKERS = (("w1", "api"), ("w2", "api"), ("wb", "browser"))
WORKER_READY_S = 60.0
RUN_TIMEOUT_S = 180.0


def _rabbitmq_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_dagster_home(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The repository's production dagster.yaml on a fresh Postgres database (whatever the store is)."""
    dbutil.require_postgres()
    url = dbutil.create_pg_database("xbot_fleet_dagster")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    try:
        yield home, dagster_pg_url(url)
    finally:
        dbutil.drop_pg_database(url)


def _wait_ready(log: Path, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"worker exited {proc.returncode}: {log.read_text()[-2000:]}")
        if " ready." in log.read_text(errors="replace"):
            return
        time.sleep(0.3)
    raise AssertionError(f"worker not ready in {timeout:.0f} s: {log.read_text()[-2000:]}")


@pytest.fixture
def fleet_env(tmp_path, pg_dagster_home, database_url, sandbox) -> dict[str, str]:
    """The environment the workers and the runs share: Celery executor, shards of 6 accounts."""
    if not _rabbitmq_up():
        pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672 (the Celery broker this test needs)")
    home, pg_url = pg_dagster_home
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "XBOT_DAGSTER_PG_URL": pg_url,
        "XBOT_DATABASE_URL": database_url,
        "XBOT_EXECUTOR": "celery",
        "XBOT_CELERY_BROKER": BROKER,
        "XBOT_FLEET_SHARD_SIZE": "6",
        "XBOT_FLEET_IO_DIR": str(tmp_path / "shared-outputs"),
        "XBOT_PUBLISHER": "api",
        "XBOT_X_API_URL": sandbox.api_url,
        "XBOT_X_WEB_URL": sandbox.web_url,
        "XBOT_X_API_TOKEN": sandbox.account(DEMO_HANDLE).token,
        "XBOT_HOME": str(tmp_path / "orchestrator"),
    }


@contextlib.contextmanager
def _workers(env: dict[str, str], tmp_path: Path, workers: tuple[tuple[str, str], ...]) -> Iterator[None]:
    """`xbot worker` processes (name, queue; one step at a time each), always killed at the end."""
    procs: list[subprocess.Popen] = []
    names = [name for name, _ in workers]
    try:
        for name, queue in workers:
            command = [
                *XBOT,
                "worker",
                "--queues",
                queue,
                "--concurrency",
                "1",
                "--name",
                f"{name}{os.getpid()}",
            ]
            procs.append(
                subprocess.Popen(
                    command,
                    env={**env, "XBOT_HOME": str(tmp_path / name)},  # each "host" has its own home (journal)
                    stdout=(tmp_path / f"{name}.log").open("w"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for name, proc in zip(names, procs, strict=True):
            _wait_ready(tmp_path / f"{name}.log", proc, WORKER_READY_S)
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _runs(env: dict[str, str], tmp_path: Path, *specs: str) -> list[str]:
    """scripts/fleet_runs.py in its own process: each run's orchestration submits every step to Celery.
    Started with the workers: the runs' tasks wait in the queue until a worker is ready."""
    log = tmp_path / "runs.log"
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "fleet_runs.py"), *specs],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            with _workers(env, tmp_path, WORKERS):
                proc.wait(timeout=RUN_TIMEOUT_S)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
    return [line for line in log.read_text().splitlines() if line.endswith(tuple("0123456789"))]


def test_posting_and_recovery_on_two_celery_workers_post_each_post_exactly_once(
    store, clock, sandbox, fleet_env, tmp_path, monkeypatch
):
    clock.set(datetime.now(UTC))  # the workers run on the system clock
    limits = {"min_spacing_s": 0, "per_hour": 10, "per_run": 5}
    post_ids = []
    for i in range(ACCOUNTS):
        account = f"fleet_{i:02d}"
        ensure_account(store, account, handle=DEMO_HANDLE, publisher="api", limits=limits)
        for n in range(POSTS_PER_ACCOUNT):
            post_ids.append(enqueue(store, account, "single", f"fleet post {n} of {account}")["id"])
    authors = {}  # the browser accounts' posts: each must come from its own account's session
    for handle in BROWSER_HANDLES:
        account = f"web_{handle}"
        ensure_account(store, account, handle=handle, publisher="browser", limits=limits)
        sandbox.write_storage_state(handle, tmp_path / "wb" / "sessions" / f"{handle}.json")
        for n in range(POSTS_PER_ACCOUNT):
            row = enqueue(store, account, "single", f"fleet post {n} of {account}")
            post_ids.append(row["id"])
            authors[row["text"]] = handle
    sandbox.admin.inject("missing_id", next_n=2)  # two posts go out without an id: recovery's work

    # two posting runs at once over the same accounts (a duplicated or redelivered step), then recovery
    lines = _runs(fleet_env, tmp_path, "posting_job:2", "recovery_job")
    print("\n".join(lines))

    live = sandbox.admin.posts()
    texts = [p["text"] for p in live]
    total = (ACCOUNTS + len(BROWSER_HANDLES)) * POSTS_PER_ACCOUNT
    assert len(texts) == len(set(texts)) == total  # none lost, none doubled
    assert {p["text"]: p["author"] for p in live if p["text"] in authors} == authors
    assert {p["channel"] for p in live if p["text"] in authors} == {"web"}  # through the browser
    by_text = {p["text"]: str(p["id"]) for p in live}
    for pid in post_ids:
        row = get_post(store, pid)
        assert row["status"] == "posted", row
        assert row["tweet_id"] == by_text[row["text"]]  # recovery filled the withheld ids

    monkeypatch.setenv("XBOT_DAGSTER_PG_URL", fleet_env["XBOT_DAGSTER_PG_URL"])
    with dg.DagsterInstance.from_config(fleet_env["DAGSTER_HOME"]) as instance:
        runs_done = instance.get_runs()
        assert len(runs_done) == 3 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs_done)
        hosts: set[str] = set()
        browser_hosts: set[str] = set()
        pools: list[dict] = []  # the browser steps' `browser_pool` metadata, in order
        crossed = 0  # summary steps that read a shard's Parquet frame written by the other worker
        for run in runs_done:
            by_step: dict[str, str] = {}
            for record in instance.all_logs(run.run_id):
                event = record.dagster_event
                if event and event.is_engine_event and event.engine_event_data:
                    worker = event.engine_event_data.metadata.get("Celery worker")
                    if worker is not None and event.step_key:
                        by_step[event.step_key] = str(getattr(worker, "value", worker))
                if event and event.is_successful_output and "browser" in (event.step_key or ""):
                    pool = event.step_output_data.metadata.get("browser_pool")
                    pools.append({**pool.value, "at": record.timestamp})  # type: ignore[union-attr]
            api_steps = {k: w for k, w in by_step.items() if "browser" not in k}
            hosts.update(api_steps.values())
            browser_hosts.update(w for k, w in by_step.items() if "browser" in k)
            summary = next(w for k, w in api_steps.items() if k.startswith("summarize_"))
            crossed += any(w != summary for k, w in api_steps.items() if "[" in k)
        assert len(hosts) == 2, hosts  # both api workers ran steps
        assert len(browser_hosts) == 1 and next(iter(browser_hosts)).startswith("wb"), browser_hosts
        assert crossed >= 1  # a frame went from one worker to a step on the other
        # the browser worker ran ONE Chromium for its several accounts, a context each, in every step
        pools.sort(key=lambda pool: pool["at"])
        print("browser steps' pools:", pools)
        assert len(pools) == 3 and len({pool["pid"] for pool in pools}) == 1, pools
        last = pools[-1]
        assert (last["launches"], last["browsers_running"], last["relaunches"]) == (1, 1, 0), last
        assert last["accounts_served"] == last["contexts_opened"] == len(BROWSER_HANDLES), last
    assert list((tmp_path / "shared-outputs").rglob("*.parquet"))  # frames travelled as Parquet
