"""The fleet as production runs it, on simulated hosts: the control host's Dagster processes (code server,
daemon, webserver: ``scripts/fleet_hosts.sh control``) schedule ``posting_job`` and ``recovery_job``, and
their steps run on Celery workers in network namespaces of their own (``fleet_hosts.sh up`` / ``worker``).
Nobody launches a run by hand.

    sudo .venv/bin/python scripts/fleet_control_check.py [--hosts 2] [--accounts 8] [--posts 2]
        [--timeout 300]

Prints one line and exits 0 when every post went out exactly once through scheduled runs whose steps ran on
the workers (each host's Celery log shows the tasks it ran), else 1. Needs root, socat, RabbitMQ and
Postgres on 127.0.0.1 (its own databases and RabbitMQ vhost, removed at the end).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_fleet as bf  # noqa: E402

UI_PORT = 3077


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--posts", type=int, default=2, help="posts queued per account")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for every post")
    parser.add_argument("--broker-port", type=int, default=5699, help="the fleet's forwarder to RabbitMQ")
    args = parser.parse_args()
    if not (1 <= args.hosts <= 9 and 1 <= args.accounts <= 500 and 1 <= args.posts <= 20):
        print("fleet_control_check: --hosts 1-9, --accounts 1-500, --posts 1-20", file=sys.stderr)
        return 2

    import dagster as dg

    from xbot_pipeline.posting.enqueue import enqueue
    from xbot_pipeline.sandbox.server import DEMO_HANDLE, SandboxServer
    from xbot_pipeline.store import Store
    from xbot_pipeline.store.accounts import ensure_account
    from xbot_pipeline.store.posts import list_posts

    folder = Path(tempfile.mkdtemp(prefix="fleet_control_"))
    forwarder = bf.Forwarder(args.broker_port)
    try:
        with (
            bf.rabbit_vhost("fleet_control") as vhost,
            bf.pg_database("fleet_control_store") as store_url,
            bf.pg_database("fleet_control_dagster") as dagster_url,
            SandboxServer(folder / "x.sqlite3") as x,
        ):
            x.admin.set_limits(requests_per_window=100_000, posts_per_day=100_000)
            store = Store.open(store_url)
            limits = {"min_spacing_s": 0, "per_hour": 1000, "per_run": 1000}
            texts = []
            for i in range(args.accounts):
                account = f"api_{i:03d}"
                ensure_account(store, account, handle=DEMO_HANDLE, publisher="api", limits=limits)
                for n in range(args.posts):
                    texts.append(f"control {uuid.uuid4().hex[:8]} post {n} of {account}")
                    enqueue(store, account, "single", texts[-1])
            broker = f"pyamqp://guest:guest@127.0.0.1:{args.broker_port}/{vhost}"
            shard_size = max(1, -(-args.accounts // args.hosts))
            env = bf.fleet_env(
                folder,
                store_url,
                dagster_url,
                x,
                broker,
                shard_size,
                XBOT_HOME=str(folder / "control"),
                XBOT_POSTING_CRON="* * * * *",
                XBOT_RECOVERY_CRON="* * * * *",
                XBOT_FLEET_HOSTS_STATE=str(folder / "hosts"),
            )
            home = Path(env["DAGSTER_HOME"])
            forwarder.start()
            started = time.monotonic()
            os.environ["XBOT_DAGSTER_PG_URL"] = env["XBOT_DAGSTER_PG_URL"]  # dagster.yaml reads it
            with (
                dg.DagsterInstance.from_config(str(home)) as instance,  # its tables, before any process
                bf.Hosts(args.hosts, env, folder, True, "api") as fleet,
            ):
                subprocess.run([*fleet.script, "control", str(UI_PORT)], env=fleet.hosts_env, check=True)
                deadline = time.monotonic() + args.timeout
                while time.monotonic() < deadline:
                    # only this check's posts (a scheduled learning_job may queue generated ones),
                    # and the run that published them must have ended
                    scheduled_ok = _scheduled_successes(instance)
                    mine = [p for p in list_posts(store) if p["text"] in texts]
                    if scheduled_ok and all(p["status"] == "posted" for p in mine):
                        break
                    time.sleep(3)
                elapsed = time.monotonic() - started
                statuses = collections.Counter(p["status"] for p in mine)
                tasks = {
                    i: _log_count(folder / "hosts" / f"h{i}" / "worker.log", "succeeded in")
                    for i in range(1, args.hosts + 1)
                }
            live = collections.Counter(p["text"] for p in x.admin.posts())
            lost = [t for t in texts if live[t] == 0]
            doubled = [t for t in texts if live[t] > 1]
    finally:
        forwarder.stop()
    ok = not lost and not doubled and bool(scheduled_ok) and all(tasks.values())
    print(
        json.dumps(
            {
                "ok": ok,
                "posts": len(texts),
                "statuses": dict(statuses),
                "lost": len(lost),
                "doubled": len(doubled),
                "scheduled_posting_runs_succeeded": scheduled_ok,
                "celery_tasks_per_host": tasks,
                "seconds": round(elapsed, 1),
                "folder": str(folder),
            }
        )
    )
    return 0 if ok else 1


def _scheduled_successes(instance: Any) -> list[str]:
    """Short ids of the posting runs the daemon's posting_schedule started that succeeded."""
    import dagster as dg

    runs = instance.get_runs(filters=dg.RunsFilter(job_name="posting_job"))
    return [
        r.run_id[:8]
        for r in runs
        if r.status == dg.DagsterRunStatus.SUCCESS
        and r.tags.get("dagster/schedule_name") == "posting_schedule"
    ]


def _log_count(path: Path, needle: str) -> int:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace").count(needle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
