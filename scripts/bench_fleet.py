"""The fleet benchmark: posting and recovery through Dagster's Celery executor on 1..N worker hosts.

    .venv/bin/python scripts/bench_fleet.py [--accounts 24] [--browser 0] [--posts 2] [--hosts 1,2]
                                            [--netns] [--fault] [--shard-size 6]

For each host count: a fresh Postgres store and Dagster instance, ``--accounts`` API accounts (plus
``--browser`` browser accounts, which need Chromium on the workers) with ``--posts`` due posts each on the
local X stand-in, one ``xbot worker`` per host (``--netns``: each in its own network namespace, see
scripts/fleet_hosts.sh; otherwise plain processes), then posting runs until every post is out, then a
recovery run. Prints posts per minute, p50/p95 latency (due -> posted, and one publish call), the
orchestration overhead per run (run wall time minus its publish time per worker), and the broker and
Postgres load (messages through the broker queues, Postgres commits).

``--fault``: mid-campaign it SIGKILLs a worker (and restarts it) and cuts the broker for 60 s (the
workers and runs reach RabbitMQ through a forwarder this script owns; killing the forwarder is the
outage, so other users of the shared broker are not touched). It must end with 0 lost, 0 doubled.
Needs RabbitMQ on 127.0.0.1:5672 and Postgres on 127.0.0.1:5432 (user postgres, trust).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("XBOT_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
XBOT = [sys.executable, "-c", "from xbot_pipeline.cli import main; main()"]
BROKER_PORT = 5672
RUN_TIMEOUT_S = 900.0


def log(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


@contextlib.contextmanager
def pg_database(prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_commits(url: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        value = conn.execute(
            sa.text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()
    engine.dispose()
    return int(value)


def fleet_env(
    folder: Path, store_url: str, dagster_url: str, x: Any, broker: str, shard_size: int, **extra: str
) -> dict[str, str]:
    """The environment every fleet process shares (orchestrator, workers, control host): a production
    Dagster instance in ``folder/dagster_home`` on ``dagster_url``, the store, the Celery executor on
    ``broker``, the shared outputs folder and the stand-in's API; ``extra`` adds or overrides variables."""
    from xbot_pipeline.sandbox.server import DEMO_HANDLE

    home = folder / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "XBOT_DAGSTER_PG_URL": make_url(dagster_url)
        .set(drivername="postgresql+psycopg2")
        .render_as_string(hide_password=False),
        "XBOT_DATABASE_URL": store_url,
        "XBOT_EXECUTOR": "celery",
        "XBOT_CELERY_BROKER": broker,
        "XBOT_FLEET_SHARD_SIZE": str(shard_size),
        "XBOT_FLEET_IO_DIR": str(folder / "shared-outputs"),
        "XBOT_X_API_URL": x.api_url,
        "XBOT_X_WEB_URL": x.web_url,
        "XBOT_X_API_TOKEN": x.account(DEMO_HANDLE).token,
        "XBOT_HOME": str(folder / "orchestrator"),
        **extra,
    }


@contextlib.contextmanager
def rabbit_vhost(prefix: str) -> Iterator[str]:
    """A RabbitMQ vhost of the run's own (guest may use it), deleted at the end: its queues never mix with
    another session's ``api``/``browser`` queues."""
    vhost = f"{prefix}_{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    try:
        grant = ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]
        subprocess.run(grant, check=True)
        yield vhost
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)


class Forwarder:
    """127.0.0.1:<port> -> the broker: the fleet's only way to RabbitMQ, so stopping it is the outage."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "socat",
                f"TCP-LISTEN:{self.port},bind=127.0.0.1,fork,reuseaddr",
                f"TCP:127.0.0.1:{BROKER_PORT}",
            ],
            start_new_session=True,
        )
        time.sleep(0.3)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the forwarder and every connection it carries
            self.proc.wait()


class Hosts:
    """``count`` worker hosts: plain processes, or network namespaces through scripts/fleet_hosts.sh."""

    def __init__(self, count: int, env: dict[str, str], folder: Path, netns: bool, queues: str) -> None:
        self.count, self.env, self.folder, self.netns, self.queues = count, env, folder, netns, queues
        self.procs: dict[int, subprocess.Popen] = {}
        self.script = [str(ROOT / "scripts" / "fleet_hosts.sh")]
        self.hosts_env = {**env, "XBOT_FLEET_HOSTS_STATE": str(folder / "hosts")}

    def __enter__(self) -> Hosts:
        if self.netns:
            ports = [
                str(make_url(self.env["XBOT_CELERY_BROKER"]).port),
                self.env["XBOT_X_API_URL"].rsplit(":", 1)[1],
            ]
            subprocess.run([*self.script, "up", str(self.count), *ports], env=self.hosts_env, check=True)
        for i in range(1, self.count + 1):
            self.start(i)
        return self

    def start(self, i: int) -> None:
        if self.netns:
            subprocess.run([*self.script, "worker", str(i), self.queues], env=self.hosts_env, check=True)
            return
        home = self.folder / f"h{i}"
        home.mkdir(exist_ok=True)
        self.procs[i] = subprocess.Popen(
            [*XBOT, "worker", "--queues", self.queues, "--name", f"h{i}"],
            env={**self.env, "XBOT_HOME": str(home)},
            stdout=(self.folder / f"h{i}.log").open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, i: int) -> None:
        if self.netns:
            subprocess.run([*self.script, "kill", str(i)], env=self.hosts_env, check=True)
        else:
            os.killpg(self.procs[i].pid, signal.SIGKILL)
            self.procs[i].wait()

    def __exit__(self, *exc: object) -> None:
        if self.netns:
            subprocess.run([*self.script, "down"], env=self.hosts_env, check=False)
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def run_jobs(env: dict[str, str], folder: Path, *specs: str) -> list[tuple[str, str, bool, float]]:
    out = folder / "runs.log"
    with out.open("a") as handle:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "fleet_runs.py"), *specs],
            env=env,
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    runs = []
    for line in proc.stdout.splitlines():
        job, run_id, status, seconds = line.split()
        runs.append((job, run_id, status == "SUCCESS", float(seconds)))
    return runs


def publish_seconds(url: str) -> list[float]:
    """Each attempt's publish time (write-ahead row to outcome), from the store."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT started_at, finished_at FROM post_attempts WHERE finished_at IS NOT NULL")
        ).all()
    engine.dispose()
    return [(f - s).total_seconds() for s, f in rows]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def campaign(args: argparse.Namespace, hosts: int) -> dict[str, float | int | str]:
    from xbot_pipeline.posting.enqueue import enqueue
    from xbot_pipeline.sandbox.server import DEMO_HANDLE, SandboxServer
    from xbot_pipeline.store import Store
    from xbot_pipeline.store.accounts import ensure_account

    folder = Path(tempfile.mkdtemp(prefix=f"bench_fleet_{hosts}h_"))
    total = (args.accounts + args.browser) * args.posts
    with (
        pg_database("bench_fleet_store") as store_url,
        pg_database("bench_fleet_dagster") as dagster_url,
        SandboxServer(folder / "x.sqlite3") as x,
    ):
        x.admin.set_limits(requests_per_window=100_000, posts_per_day=100_000)
        session = x.write_storage_state(DEMO_HANDLE, folder / "session.json")
        store = Store.open(store_url)
        limits = {"min_spacing_s": 0, "per_hour": 1000, "per_run": 1000}
        for i in range(args.accounts + args.browser):
            kind = "browser" if i >= args.accounts else "api"
            account = f"{kind}_{i:03d}"
            ensure_account(store, account, handle=DEMO_HANDLE, publisher=kind, limits=limits)
            for n in range(args.posts):
                enqueue(store, account, "single", f"bench {uuid.uuid4().hex[:8]} post {n} of {account}")
        due_at = datetime.now(UTC)
        forwarder = Forwarder(args.broker_port)
        forwarder.start()
        broker = f"pyamqp://guest:guest@127.0.0.1:{args.broker_port}//"
        env = fleet_env(
            folder, store_url, dagster_url, x, broker, args.shard_size, XBOT_SESSION_FILE=str(session)
        )
        commits0 = pg_commits(store_url) + pg_commits(dagster_url)
        queues = "api,browser" if args.browser else "api"
        runs: list[tuple[str, str, bool, float]] = []
        started = time.monotonic()
        try:
            with Hosts(hosts, env, folder, args.netns, queues) as fleet:
                rounds = 0
                while rounds < args.max_rounds:
                    rounds += 1
                    if args.fault and rounds == 1:
                        runs.extend(_faulted_round(env, folder, fleet, forwarder))
                    else:
                        runs.extend(run_jobs(env, folder, "posting_job"))
                    if _open_posts(store) == 0:
                        break
                runs.extend(run_jobs(env, folder, "recovery_job"))
                if _open_posts(store):
                    runs.extend(run_jobs(env, folder, "posting_job", "recovery_job"))
        finally:
            forwarder.stop()
        elapsed = time.monotonic() - started
        return _figures(
            store, x, runs, total, due_at, elapsed, hosts, commits0, store_url, dagster_url, folder
        )


def _faulted_round(env, folder, fleet: Hosts, forwarder: Forwarder):
    """One posting run with a worker SIGKILLed mid-run (restarted 5 s later) and the broker cut for 60 s."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "fleet_runs.py"), "posting_job"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=(folder / "runs.log").open("a"),
        text=True,
        start_new_session=True,
    )
    time.sleep(20)
    log("fault: SIGKILL worker host 1")
    fleet.kill(1)
    time.sleep(5)
    fleet.start(1)
    time.sleep(10)
    log("fault: broker cut for 60 s")
    forwarder.stop()
    time.sleep(60)
    forwarder.start()
    log("fault: broker back")
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    runs = []
    for line in out.splitlines():
        job, run_id, status, seconds = line.split()
        runs.append((job, run_id, status == "SUCCESS", float(seconds)))
    if not runs:
        runs.append(("posting_job", "killed", False, float("nan")))
    # the interrupted run's posts are settled by recovery and the next runs (what the schedule does)
    return runs


def _open_posts(store) -> int:
    from xbot_pipeline.store.status import status_summary

    return sum(r["count"] for r in status_summary(store)["queue"] if r["status"] not in ("posted",))


def _figures(store, x, runs, total, due_at, elapsed, hosts, commits0, store_url, dagster_url, folder):
    from xbot_pipeline.store import health as q

    posts = q.read_post_outcomes(store, due_at.replace(year=due_at.year - 1))
    posted = posts.filter(posts["status"] == "posted")
    live = x.admin.posts()
    texts = [p["text"] for p in live]
    doubled = len(texts) - len(set(texts))
    lost = total - len(set(texts))
    latency = [(t - due_at).total_seconds() for t in posted["posted_at"].to_list() if t is not None]
    publish = publish_seconds(store_url)
    posting_runs = [r for r in runs if r[0] == "posting_job" and r[2]]
    publish_per_run = sum(publish) / max(1, len(posting_runs)) / hosts
    run_wall = statistics.mean(r[3] for r in posting_runs) if posting_runs else float("nan")
    span = max(latency) if latency else float("nan")
    commits = pg_commits(store_url) + pg_commits(dagster_url) - commits0
    return {
        "hosts": hosts,
        "posts": total,
        "posted": posted.height,
        "lost": lost,
        "doubled": doubled,
        "runs": len(runs),
        "failed_runs": sum(1 for r in runs if not r[2]),
        "posts_per_min": round(posted.height / span * 60, 1) if latency else 0.0,
        "latency_p50_s": round(pct(latency, 0.5), 1),
        "latency_p95_s": round(pct(latency, 0.95), 1),
        "publish_p50_s": round(pct(publish, 0.5), 3),
        "publish_p95_s": round(pct(publish, 0.95), 3),
        "run_wall_s": round(run_wall, 1),
        "overhead_per_run_s": round(run_wall - publish_per_run, 1),
        "pg_commits_per_post": round(commits / max(1, total), 1),
        "elapsed_s": round(elapsed, 1),
        "folder": str(folder),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=24, help="API accounts (full run: 240)")
    parser.add_argument("--browser", type=int, default=0, help="browser accounts (full run: 60)")
    parser.add_argument("--posts", type=int, default=2, help="due posts per account")
    parser.add_argument("--hosts", default="1,2", help="host counts to measure, e.g. 1,2,3")
    parser.add_argument("--shard-size", type=int, default=6)
    parser.add_argument("--netns", action="store_true", help="each worker host in its own network namespace")
    parser.add_argument("--fault", action="store_true", help="SIGKILL a worker and cut the broker mid-run")
    parser.add_argument("--max-rounds", type=int, default=5)
    parser.add_argument("--broker-port", type=int, default=0, help="forwarder port (default: a free one)")
    args = parser.parse_args()
    if args.accounts < 0 or args.browser < 0 or args.posts < 1 or args.accounts + args.browser < 1:
        parser.error("need at least one account and one post each")
    try:
        host_counts = [int(h) for h in args.hosts.split(",")]
    except ValueError:
        parser.error(f"--hosts must be numbers separated by commas, got {args.hosts!r}")
    if not shutil.which("socat"):
        parser.error("socat is needed (the broker forwarder)")
    if not args.broker_port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.broker_port = probe.getsockname()[1]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop: the workers and databases are cleaned up
    print(f"command: {' '.join(sys.argv)}")
    for hosts in host_counts:
        log(f"{hosts} host(s): {args.accounts} API + {args.browser} browser accounts x {args.posts} posts")
        figures = campaign(args, hosts)
        print(" ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
