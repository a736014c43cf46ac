"""Orchestrate fleet runs from one process: ``python scripts/fleet_runs.py SPEC...`` (the fleet test and
scripts/bench_fleet.py use it).

Each SPEC is ``job[:N]``: N runs of the job launched at once (forked after the one import of the code, so
no run pays the import again), then the next SPEC. The environment chooses the executor
(``XBOT_EXECUTOR=celery``) and the Dagster instance (``DAGSTER_HOME``); every step runs on the workers.
Prints one line per run: ``<job> <run_id> <status> <seconds>``; exits 1 if a run did not succeed.

``--every S --stop-file PATH [--run-timeout T] [--browser-slots N]`` (scripts/bench_fleet_day.py): a
schedule's cadence instead: one posting run launched every S seconds (a tick is skipped while the previous
run is still in flight, like a schedule whose runs queue behind one another), until PATH exists; a run
past T seconds is killed and printed as ``posting_job - KILLED <seconds>``. The lines also carry the
launch time (``<job> <run_id> <status> <seconds> <started_unix>``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

import dagster as dg

from xbot_pipeline.defs.pools import BROWSER_POOL
from xbot_pipeline.defs.posting.jobs import posting_job
from xbot_pipeline.defs.recovery.jobs import recovery_job

JOBS = {"posting_job": posting_job, "recovery_job": recovery_job}
RUN_CONFIG = {
    "posting_job": {},
    "recovery_job": {
        "ops": {op: {"config": {"settle_s": 0}} for op in ("recover_posts", "recover_browser_posts")}
    },
}


def run_one(name: str, stamp: bool = False) -> None:
    started = time.monotonic()
    launched = time.time()
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            dg.reconstructable(JOBS[name]),
            instance=instance,
            run_config=RUN_CONFIG[name],
            raise_on_error=False,
        )
    status = "SUCCESS" if result.success else "FAILURE"
    tail = f" {launched:.2f}" if stamp else ""
    print(f"{name} {result.run_id} {status} {time.monotonic() - started:.2f}{tail}", flush=True)
    sys.exit(0 if result.success else 1)


def main(specs: list[str]) -> int:
    fork = multiprocessing.get_context("fork")
    with dg.DagsterInstance.get() as instance:  # creates the instance's tables once, before the runs fork
        # and the `browser` pool's limit row: runs started at once on a fresh instance would each insert
        # it on their first browser step, and all but one fail on the unique key (Dagster 1.13)
        instance.event_log_storage.initialize_concurrency_limit_to_default(BROWSER_POOL)
    failed = 0
    for spec in specs:
        name, _, times = spec.partition(":")
        procs = [fork.Process(target=run_one, args=(name,)) for _ in range(int(times or 1))]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
            failed += proc.exitcode != 0
    return 1 if failed else 0


def every(seconds: float, stop_file: Path, run_timeout: float, browser_slots: int) -> int:
    """A schedule's cadence: a posting run every ``seconds`` (none while one is in flight) until stopped.
    ``browser_slots``: the `browser` pool's limit (one per browser worker slot across the hosts)."""
    fork = multiprocessing.get_context("fork")
    with dg.DagsterInstance.get() as instance:
        instance.event_log_storage.initialize_concurrency_limit_to_default(BROWSER_POOL)
        if browser_slots > 0:
            instance.event_log_storage.set_concurrency_slots(BROWSER_POOL, browser_slots)
    failed = 0
    next_tick = time.monotonic()
    while not stop_file.exists():
        now = time.monotonic()
        if now < next_tick:
            time.sleep(min(0.5, next_tick - now))
            continue
        next_tick += seconds
        launched, started = time.time(), time.monotonic()
        proc = fork.Process(target=run_one, args=("posting_job", True))
        proc.start()
        proc.join(run_timeout)
        if proc.is_alive():
            assert proc.pid is not None
            os.kill(proc.pid, 9)
            proc.join()
            print(f"posting_job - KILLED {time.monotonic() - started:.2f} {launched:.2f}", flush=True)
        failed += proc.exitcode != 0
        next_tick = max(next_tick, time.monotonic())  # ticks missed while a run was in flight are skipped
    return 1 if failed else 0


if __name__ == "__main__":
    if "--every" in sys.argv:
        parser = argparse.ArgumentParser()
        parser.add_argument("--every", type=float, required=True)
        parser.add_argument("--stop-file", type=Path, required=True)
        parser.add_argument("--run-timeout", type=float, default=600.0)
        parser.add_argument("--browser-slots", type=int, default=0)
        opts = parser.parse_args()
        sys.exit(every(opts.every, opts.stop_file, opts.run_timeout, opts.browser_slots))
    sys.exit(main(sys.argv[1:]))
