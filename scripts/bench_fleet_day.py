"""The fleet campaign: a simulated day compressed in time, on 1..N worker hosts (issue 13).

    .venv/bin/python scripts/bench_fleet_day.py [--api 240] [--browser 60] [--posts-per-day 2]
        [--day-s 240] [--cadence-s 20] [--hosts 1,2,3] [--netns] [--concurrency 1] [--shard-size 10]
        [--fault [--kills 3] [--cut-s 60] [--pg-kill-every 20]]

For each host count: fresh Postgres databases (store and Dagster instance), the X stand-in, a RabbitMQ
virtual host of its own (so the campaign's queues and counters are its alone; removed at the end), and
``--api`` + ``--browser`` accounts with the seed's limits in compressed time: at most 2 posts per run
(``per_run``), 20 minutes between posts scaled by the compression (``min_spacing_s`` = 1200 / (86400 /
day_s)). The seed's "2 per hour" is held by the schedule itself (each account's posts are a day / posts
apart), because the budget counts hours on the real clock, which a compressed day cannot shorten.

Each account's ``--posts-per-day`` posts are spread evenly over the day (random phase per account) and
queued at the moment they fall due (``scheduled_at`` = that moment, the 5-minute grace of a real day
having no meaning in a day of minutes). Posting runs are launched on a schedule's cadence
(``--cadence-s``; one in flight at a time, as Dagster queues a schedule's runs) through the Celery
executor, on ``--hosts`` worker hosts (``--netns``: each its own network namespace, scripts/fleet_hosts.sh).
After the day: runs continue until every post is out (``--drain-s`` at most), then a recovery run.

Printed per host count: posts per minute (achieved over the day and its drain, the offered rate, and
the busiest minute), p50/p95 latency due -> posted, memory of the workers' Chromium trees (peak PSS
and per browser account) and of the whole hosts, broker load (peak queue depth, AMQP frames in/out per
post from ``rabbitmqctl list_connections``; this broker has no management plugin, so no per-queue
message counters), Postgres commits per post (store + instance), the orchestration overhead (a posting
run's wall time against its publishing time per host), lost / doubled / open posts.

``--fault``: during the day, ``--kills`` SIGKILLs of worker hosts (round robin, each restarted
``--kill-down-s`` later), one broker cut of ``--cut-s`` (the forwarder through which alone the fleet
reaches RabbitMQ is killed), and every ``--pg-kill-every`` seconds ``pg_terminate_backend`` on every
connection to the campaign's two databases. Then recovery until settled. Exit status 1 unless 0 lost,
0 doubled and every post settled (posted).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_fleet as bf  # noqa: E402

SEED_SPACING_S = 20 * 60
SEED_PER_RUN = 2
DAY_S = 24 * 3600


def log(text: str) -> None:
    bf.log(text)


def plan(
    accounts: list[str], posts_per_day: int, day_s: float, rng: random.Random
) -> list[tuple[float, str, str]]:
    """(offset in the day, account, text): each account's posts a day / posts apart, random phase."""
    items = []
    gap = day_s / posts_per_day
    for account in accounts:
        phase = rng.random()
        for k in range(posts_per_day):
            text = f"day {uuid.uuid4().hex[:10]} post {k} of {account}"
            items.append(((phase + k) * gap, account, text))
    return sorted(items)


class DayHosts(bf.Hosts):
    """bench_fleet's hosts with a worker concurrency, and the process ids of each host."""

    def __init__(self, *args: Any, concurrency: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.concurrency = concurrency

    def __enter__(self) -> DayHosts:
        super().__enter__()
        return self

    def start(self, i: int) -> None:
        if self.netns:
            cmd = [*self.script, "worker", str(i), self.queues, str(self.concurrency)]
            subprocess.run(cmd, env=self.hosts_env, check=True, stdout=subprocess.DEVNULL)
            return
        home = self.folder / f"h{i}"
        home.mkdir(exist_ok=True)
        self.procs[i] = subprocess.Popen(
            [
                *bf.XBOT,
                "worker",
                "--queues",
                self.queues,
                "--name",
                f"h{i}",
                "--concurrency",
                str(self.concurrency),
            ],
            env={**self.env, "XBOT_HOME": str(home)},
            stdout=(self.folder / f"h{i}.log").open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def pids(self, i: int) -> list[int]:
        if self.netns:
            out = subprocess.run(["ip", "netns", "pids", f"xbot-h{i}"], capture_output=True, text=True)
            return [int(p) for p in out.stdout.split()]
        proc = self.procs.get(i)
        if proc is None or proc.poll() is not None:
            return []
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found


def pss_kib(pid: int) -> tuple[str, int]:
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return comm, int(line.split()[1])
    except (OSError, ValueError):
        pass
    return "", 0


def rabbitmqctl(*args: str) -> list[list[str]]:
    try:
        out = subprocess.run(
            ["rabbitmqctl", "-q", *args, "--no-table-headers"], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return []
    return [line.split("\t") for line in out.stdout.splitlines() if line.strip()]


class Sampler(threading.Thread):
    """Every few seconds: PSS of the hosts' Chromium trees and whole hosts, the vhost's queues and frames."""

    def __init__(self, hosts: DayHosts, vhost: str, every_s: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.hosts, self.vhost, self.every_s = hosts, vhost, every_s
        self.stop = threading.Event()
        self.chrome_peak_kib = 0
        self.chrome_procs_peak = 0
        self.host_peak_kib = 0
        self.depth_peak = 0
        self.frames: dict[str, tuple[int, int]] = {}  # connection pid -> (recv_cnt, send_cnt), last seen

    def memory(self) -> None:
        chrome = procs = whole = 0
        for i in range(1, self.hosts.count + 1):
            for pid in self.hosts.pids(i):
                comm, kib = pss_kib(pid)
                whole += kib
                if "chrom" in comm or "headless" in comm:
                    chrome += kib
                    procs += 1
        self.chrome_peak_kib = max(self.chrome_peak_kib, chrome)
        self.chrome_procs_peak = max(self.chrome_procs_peak, procs)
        self.host_peak_kib = max(self.host_peak_kib, whole)

    def sample(self) -> None:
        depth = 0
        for row in rabbitmqctl(
            "list_queues", "-p", self.vhost, "name", "messages_ready", "messages_unacknowledged"
        ):
            if len(row) == 3 and row[1].isdigit() and row[2].isdigit():
                depth += int(row[1]) + int(row[2])
        self.depth_peak = max(self.depth_peak, depth)
        for row in rabbitmqctl("list_connections", "vhost", "pid", "recv_cnt", "send_cnt"):
            if len(row) == 4 and row[0] == self.vhost and row[2].isdigit() and row[3].isdigit():
                self.frames[row[1]] = (int(row[2]), int(row[3]))

    def run(self) -> None:
        threading.Thread(target=self.memory_loop, daemon=True).start()
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.every_s)

    def memory_loop(self) -> None:
        while not self.stop.is_set():
            self.memory()
            self.stop.wait(0.5)


class Feeder(threading.Thread):
    """Queues each post at the moment it falls due (retrying through terminated connections)."""

    def __init__(self, store: Any, items: list[tuple[float, str, str]], t0: float) -> None:
        super().__init__(daemon=True)
        self.store, self.items, self.t0 = store, items, t0
        self.fed = 0
        self.retries = 0
        self.stop = threading.Event()

    def run(self) -> None:
        from xbot_pipeline.posting.enqueue import ValidationError, enqueue

        for offset, account, text in self.items:
            wait = self.t0 + offset - time.time()
            if wait > 0 and self.stop.wait(wait):
                return
            for _ in range(50):
                try:
                    enqueue(self.store, account, "single", text)
                    break
                except ValidationError as exc:
                    if "duplicate" in str(exc).lower() or "already" in str(exc).lower():
                        break  # the first try committed; its answer was lost with the connection
                    raise
                except Exception:
                    self.retries += 1
                    time.sleep(0.2)
            self.fed += 1


class Faults(threading.Thread):
    """Worker kills, one broker cut and Postgres connection terminations, during the day."""

    def __init__(
        self, args: argparse.Namespace, hosts: DayHosts, forwarder: bf.Forwarder, dbs: list[str], t0: float
    ) -> None:
        super().__init__(daemon=True)
        self.args, self.hosts, self.forwarder, self.dbs, self.t0 = args, hosts, forwarder, dbs, t0
        self.stop = threading.Event()
        self.kills = self.cuts = self.pg_rounds = self.pg_terminated = 0
        admin = sa.create_engine(bf.ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        self.admin = admin.execution_options(isolation_level="AUTOCOMMIT")

    def terminate(self) -> None:
        names = ", ".join(f"'{d}'" for d in self.dbs)
        with self.admin.connect() as conn:
            n = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    f"WHERE datname IN ({names}) AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        self.pg_rounds += 1
        self.pg_terminated += int(n)
        log(f"fault: Postgres: {n} connections terminated")

    def cut(self) -> None:
        log(f"fault: broker cut for {self.args.cut_s} s")
        self.forwarder.stop()
        self.cuts += 1
        self.stop.wait(self.args.cut_s)
        self.forwarder.start()
        log("fault: broker back")

    def run(self) -> None:
        self.cut_thread: threading.Thread | None = None
        self._run()
        if self.cut_thread is not None:
            self.cut_thread.join()

    def _run(self) -> None:
        day = self.args.day_s
        events: list[tuple[float, str, int]] = []
        for k in range(self.args.kills):
            events.append(
                (day * (0.15 + 0.6 * k / max(1, self.args.kills - 1)), "kill", k % self.hosts.count + 1)
            )
        events.append((day * 0.5, "cut", 0))
        if self.args.pg_kill_every > 0:
            t = self.args.pg_kill_every
            while t < day:
                events.append((t, "pg", 0))
                t += self.args.pg_kill_every
        events.sort()
        for at, what, host in events:
            if self.stop.wait(max(0.0, self.t0 + at - time.time())):
                return
            if what == "kill":
                log(f"fault: SIGKILL worker host {host}")
                self.hosts.kill(host)
                self.kills += 1
                self.stop.wait(self.args.kill_down_s)
                self.hosts.start(host)
                log(f"fault: worker host {host} restarted")
            elif what == "cut":  # in a thread of its own: the other faults go on during the outage
                self.cut_thread = threading.Thread(target=self.cut, daemon=True)
                self.cut_thread.start()
            else:
                try:
                    self.terminate()
                except Exception as exc:
                    log(f"fault: terminate failed: {exc}")


def open_posts(store: Any) -> int:
    from xbot_pipeline.store.schema import posts

    for _ in range(20):  # through the fault campaign's terminated connections
        try:
            with store.connect() as conn:
                query = sa.select(sa.func.count()).where(posts.c.status != "posted")
                return int(conn.execute(query).scalar_one())
        except Exception:  # a terminated connection, whichever way the store reports it
            time.sleep(0.5)
    raise RuntimeError("the store does not answer")


def campaign(args: argparse.Namespace, hosts: int) -> tuple[dict[str, Any], bool]:
    from xbot_pipeline.sandbox.server import DEMO_HANDLE, SandboxServer
    from xbot_pipeline.store import Store
    from xbot_pipeline.store.accounts import ensure_account
    from xbot_pipeline.store.schema import posts

    folder = Path(tempfile.mkdtemp(prefix=f"bench_fleet_day_{hosts}h_"))
    compression = DAY_S / args.day_s
    limits = {
        "per_run": SEED_PER_RUN,
        "min_spacing_s": round(SEED_SPACING_S / compression, 3),
        "per_hour": 1000,
    }
    names = [f"api_{i:03d}" for i in range(args.api)] + [f"browser_{i:03d}" for i in range(args.browser)]
    items = plan(names, args.posts_per_day, args.day_s, random.Random(args.seed))
    with (
        bf.rabbit_vhost("bench_fleet") as vhost,
        bf.pg_database("bench_fleet_store") as store_url,
        bf.pg_database("bench_fleet_dagster") as dagster_url,
        SandboxServer(folder / "x.sqlite3") as x,
    ):
        x.admin.set_limits(requests_per_window=1_000_000, posts_per_day=1_000_000)
        session = x.write_storage_state(DEMO_HANDLE, folder / "session.json")
        if args.netns:  # each host reaches the stand-in at its own gateway: the cookies go there too
            state = json.loads(session.read_text())
            state["cookies"] += [
                {**c, "domain": f"10.77.{i}.1"} for c in state["cookies"] for i in range(1, 10)
            ]
            session.write_text(json.dumps(state))
        store = Store.open(store_url)
        for name in names:
            kind = name.split("_")[0]
            ensure_account(store, name, handle=DEMO_HANDLE, publisher=kind, limits=limits)
        forwarder = bf.Forwarder(args.broker_port)
        forwarder.start()
        broker = f"pyamqp://guest:guest@127.0.0.1:{args.broker_port}/{vhost}"
        env = bf.fleet_env(
            folder, store_url, dagster_url, x, broker, args.shard_size, XBOT_SESSION_FILE=str(session)
        )
        commits0 = bf.pg_commits(store_url) + bf.pg_commits(dagster_url)
        queues = "api,browser" if args.browser else "api"
        stop_file = folder / "stop"
        faults: Faults | None = None
        scheduler: subprocess.Popen | None = None
        try:
            with DayHosts(hosts, env, folder, args.netns, queues, concurrency=args.concurrency) as fleet:
                sampler = Sampler(fleet, vhost)
                sampler.start()
                runs_log = (folder / "runs.log").open("a")
                scheduler = subprocess.Popen(
                    [
                        sys.executable,
                        str(ROOT / "scripts" / "fleet_runs.py"),
                        "--every",
                        str(args.cadence_s),
                        "--stop-file",
                        str(stop_file),
                        "--run-timeout",
                        str(args.run_timeout_s),
                        "--browser-slots",
                        str(hosts * args.concurrency),
                    ],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=runs_log,
                    text=True,
                    start_new_session=True,
                )
                t0 = time.time()
                log(f"day starts: {len(items)} posts over {args.day_s:g} s, runs every {args.cadence_s:g} s")
                feeder = Feeder(store, items, t0)
                feeder.start()
                if args.fault:
                    dbs = [str(make_url(u).database) for u in (store_url, dagster_url)]
                    faults = Faults(args, fleet, forwarder, dbs, t0)
                    faults.start()
                feeder.join()
                if faults:
                    faults.join()
                day_end = time.time()
                log(f"day over ({day_end - t0:.0f} s): {open_posts(store)} posts still open")
                while open_posts(store) and time.time() - day_end < args.drain_s:
                    time.sleep(2)
                drained = time.time()
                log(f"drained in {drained - day_end:.0f} s: {open_posts(store)} open")
                stop_file.touch()
                try:
                    out, _ = scheduler.communicate(timeout=args.run_timeout_s + 60)
                except subprocess.TimeoutExpired:
                    os.killpg(scheduler.pid, signal.SIGKILL)
                    out, _ = scheduler.communicate()
                runs = parse_runs(out)
                for job, _, ok, secs, _ in bf_runs(bf.run_jobs(env, folder, "recovery_job")):
                    runs.append((job, "-", ok, secs, 0.0))
                if open_posts(store):
                    for job, _, ok, secs, _ in bf_runs(
                        bf.run_jobs(env, folder, "posting_job", "recovery_job")
                    ):
                        runs.append((job, "-", ok, secs, 0.0))
                sampler.stop.set()
                sampler.join(60)
        finally:
            stop_file.touch()
            if scheduler is not None and scheduler.poll() is None:
                os.killpg(scheduler.pid, signal.SIGKILL)
                scheduler.wait()
            if faults:
                faults.stop.set()
            forwarder.stop()
        with store.connect() as conn:
            rows = conn.execute(
                sa.select(posts.c.text, posts.c.status, posts.c.scheduled_at, posts.c.posted_at)
            ).all()
        live = [p["text"] for p in x.admin.posts()]
        publish = bf.publish_seconds(store_url)
        commits = bf.pg_commits(store_url) + bf.pg_commits(dagster_url) - commits0
        store.dispose()
    return figures(
        args, hosts, items, rows, live, publish, runs, commits, sampler, faults, t0, day_end, drained, folder
    )


def bf_runs(runs: list[tuple[str, str, bool, float]]) -> list[tuple[str, str, bool, float, float]]:
    return [(*r, 0.0) for r in runs]


def parse_runs(out: str) -> list[tuple[str, str, bool, float, float]]:
    runs = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 5:
            runs.append((parts[0], parts[1], parts[2] == "SUCCESS", float(parts[3]), float(parts[4])))
    return runs


def figures(
    args, hosts, items, rows, live, publish, runs, commits, sampler, faults, t0, day_end, drained, folder
):
    total = len(items)
    expected = {text for _, _, text in items}
    live_ours = [t for t in live if t in expected]
    doubled = len(live_ours) - len(set(live_ours))
    lost = len(expected - set(live_ours))
    posted = [r for r in rows if r.status == "posted" and r.posted_at is not None]
    still_open = sum(1 for r in rows if r.status != "posted") + (total - len(rows))
    latency = [(r.posted_at - r.scheduled_at).total_seconds() for r in posted]
    stamps = sorted(r.posted_at.timestamp() for r in posted)
    busiest = 0
    j = 0
    for i, s in enumerate(stamps):
        while stamps[j] < s - 60:
            j += 1
        busiest = max(busiest, i - j + 1)
    span = (stamps[-1] - t0) if stamps else float("nan")
    sched = [r for r in runs if r[4] > 0]
    ok_posting = [r for r in sched if r[2]]
    walls = [r[3] for r in ok_posting]
    publish_per_run = sum(publish) / max(1, len(sched)) / hosts
    run_wall = statistics.median(walls) if walls else float("nan")
    frames_in = sum(f[0] for f in sampler.frames.values())
    frames_out = sum(f[1] for f in sampler.frames.values())
    chrome_mib = sampler.chrome_peak_kib / 1024
    result: dict[str, Any] = {
        "hosts": hosts,
        "accounts": f"{args.api}api+{args.browser}browser",
        "posts": total,
        "posted": len(posted),
        "lost": lost,
        "doubled": doubled,
        "open": still_open,
        "day_s": args.day_s,
        "drain_s": round(drained - day_end, 1),
        "offered_per_min": round(total / args.day_s * 60, 1),
        "posts_per_min": round(len(posted) / span * 60, 1) if stamps else 0.0,
        "busiest_min": busiest,
        "latency_p50_s": round(bf.pct(latency, 0.5), 1),
        "latency_p95_s": round(bf.pct(latency, 0.95), 1),
        "publish_p50_s": round(bf.pct(publish, 0.5), 3),
        "scheduled_runs": len(sched),
        "failed_runs": sum(1 for r in runs if not r[2]),
        "run_wall_p50_s": round(run_wall, 1),
        "publish_per_run_per_host_s": round(publish_per_run, 2),
        "overhead_per_run_s": round(run_wall - publish_per_run, 1),
        "chromium_pss_peak_mib": round(chrome_mib),
        "chromium_procs_peak": sampler.chrome_procs_peak,
        "pss_per_browser_account_mib": round(chrome_mib / args.browser) if args.browser else "-",
        "hosts_pss_peak_mib": round(sampler.host_peak_kib / 1024),
        "broker_depth_peak": sampler.depth_peak,
        "broker_frames_in_per_post": round(frames_in / max(1, total), 1),
        "broker_frames_out_per_post": round(frames_out / max(1, total), 1),
        "pg_commits_per_post": round(commits / max(1, total), 1),
        "loadavg": os.getloadavg()[0],
    }
    if faults is not None:
        result.update(
            worker_kills=faults.kills,
            broker_cuts=faults.cuts,
            pg_terminate_rounds=faults.pg_rounds,
            pg_connections_terminated=faults.pg_terminated,
        )
    result["folder"] = str(folder)
    ok = lost == 0 and doubled == 0 and still_open == 0
    return result, ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api", type=int, default=240, help="API accounts")
    parser.add_argument(
        "--browser", type=int, default=60, help="browser accounts (need Chromium on the workers)"
    )
    parser.add_argument(
        "--posts-per-day", type=int, default=2, help="posts per account per day (seed: at most 48)"
    )
    parser.add_argument("--day-s", type=float, default=240.0, help="the day's length in real seconds")
    parser.add_argument("--cadence-s", type=float, default=20.0, help="a posting run every S seconds")
    parser.add_argument("--hosts", default="1,2,3", help="host counts, e.g. 1,2,3")
    parser.add_argument("--netns", action="store_true", help="each worker host in its own network namespace")
    parser.add_argument("--concurrency", type=int, default=1, help="Celery worker slots per host")
    parser.add_argument("--shard-size", type=int, default=10)
    parser.add_argument(
        "--drain-s", type=float, default=600.0, help="after the day, wait at most this for posts"
    )
    parser.add_argument("--run-timeout-s", type=float, default=300.0)
    parser.add_argument(
        "--fault", action="store_true", help="worker kills, a broker cut, Postgres terminations"
    )
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--kill-down-s", type=float, default=5.0)
    parser.add_argument("--cut-s", type=float, default=60.0)
    parser.add_argument("--pg-kill-every", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--broker-port", type=int, default=0)
    args = parser.parse_args()
    if args.api < 0 or args.browser < 0 or args.api + args.browser < 1:
        parser.error("need at least one account")
    if not 1 <= args.posts_per_day <= 48:
        parser.error("--posts-per-day must be 1..48 (the seed's 2 per hour)")
    host_counts = [int(h) for h in args.hosts.split(",")]
    if not args.broker_port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.broker_port = probe.getsockname()[1]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"command: {' '.join(sys.argv)}", flush=True)
    failed = 0
    for hosts in host_counts:
        log(
            f"{hosts} host(s): {args.api} API + {args.browser} browser accounts "
            f"x {args.posts_per_day} posts/day"
        )
        result, ok = campaign(args, hosts)
        print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)
        print(
            f"{hosts} host(s): {'OK' if ok else 'FAILED'}: lost={result['lost']} doubled={result['doubled']} "
            f"open={result['open']}",
            flush=True,
        )
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
