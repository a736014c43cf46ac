#!/usr/bin/env python
"""Production drill: kill Dagster's processes while a browser posting run publishes, and watch the system
heal without a hand (issue 11, items 15, 16, 19; docs/PRODUCTION.md, "What happens when a run dies").

Set-up, all fresh and in a temporary folder: the production Dagster instance (the repository's
dagster.yaml, Postgres storage in a new database on 127.0.0.1:5432), the operational store (a second new
Postgres database), the local X stand-in (`xbot sandbox serve`) with the demo account signed in, the
browser publisher, and posting and recovery scheduled every minute (XBOT_POSTING_CRON /
XBOT_RECOVERY_CRON; production keeps every 5 minutes).

The drill queues post A and post B, makes the stand-in's composer slow for A (fault `slow_button`), and
kills with SIGKILL, while A's run waits on the composer:
  --topology dev         the daemon's process group (`dagster-daemon run -w workspace.yaml`: its code
                         server and the run worker are in that group: the set-up of the issue);
  --topology production  the daemon's and the long-running code server's groups (a crash of both:
                         killing the daemon alone leaves the run running, see --daemon-only).
It restarts what it killed and measures: the killed run marked failed, its `browser` slot freed, A handed
to recovery, the next scheduled posting run succeeding (it publishes B) and, with --full, A published by a
later scheduled run. At the end A and B are each on the stand-in exactly once.

    .venv/bin/python scripts/production_drill.py [--topology dev|production] [--full] [--measure-idle 180]

--measure-idle N measures instead the daemon's idle CPU over N seconds with each workspace (and counts the
code servers the daemon starts). Needs Postgres on 127.0.0.1:5432 (user postgres, trust) and Chromium.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xbot_pipeline.cli.ui import (  # noqa: E402
    Services,
    code_server_command,
    daemon_command,
    free_port,
    grpc_workspace_yaml,
    wait_for_code_server,
)

ADMIN_URL = os.environ.get("XBOT_DRILL_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
ACCOUNT = "xbot_demo"
XBOT = [sys.executable, "-c", "from xbot_pipeline.cli import main; main()"]
LIMITS = {"per_hour": 30, "min_spacing_s": 0, "per_run": 2, "threads_per_hour": 5, "threads_per_day": 20}


def log(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


# -- databases ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def pg_database(prefix: str, keep: bool = False) -> Iterator[str]:
    """A new, empty Postgres database; dropped afterwards unless ``keep``."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- Dagster processes -----------------------------------------------------------------------------------
class Dagster:
    """The daemon (and, in the production topology, the code server) for one instance, restartable."""

    def __init__(self, env: dict[str, str], topology: str, folder: Path) -> None:
        self.env, self.topology, self.folder = env, topology, folder
        self.services: Services | None = None
        self.logs = folder / "dagster.log"

    def start(self) -> None:
        self.services = Services(self.env)
        out = self.logs.open("a")
        if self.topology == "production":
            port = free_port()
            workspace = self.folder / "workspace.production.yaml"
            workspace.write_text(grpc_workspace_yaml("127.0.0.1", port))
            server = self.services.start(
                "code server", code_server_command("127.0.0.1", port), stdout=out, stderr=out
            )
            wait_for_code_server("127.0.0.1", port, server)
        else:
            workspace = ROOT / "workspace.yaml"
        self.services.start("dagster-daemon", daemon_command(workspace), stdout=out, stderr=out)

    def kill(self, daemon_only: bool = False) -> None:
        """SIGKILL whole process groups, as a crash or an OOM kill of the service would."""
        assert self.services is not None
        for name, proc in self.services.procs:
            if daemon_only and name != "dagster-daemon":
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            log(f"killed the process group of the {name} (pgid {proc.pid})")

    def stop(self) -> None:
        if self.services is not None:
            self.services.stop(timeout=30)


# -- the drill -------------------------------------------------------------------------------------------
@dataclass
class DrillResult:
    topology: str
    killed_run: str = ""
    slot_held_at_kill: bool = False
    seconds: dict[str, float] = field(default_factory=dict)  # since the kill
    copies_on_x: dict[str, int] = field(default_factory=dict)
    final_status: dict[str, str] = field(default_factory=dict)
    next_run: str = ""

    def lines(self) -> list[str]:
        held = f"browser slot held: {self.slot_held_at_kill}"
        out = [f"topology: {self.topology}; killed run {self.killed_run} ({held})"]
        out += [f"  {what}: {secs:.0f} s after the kill" for what, secs in self.seconds.items()]
        out.append(f"  next successful posting run: {self.next_run}")
        out.append(f"  final status: {self.final_status}; copies on the stand-in: {self.copies_on_x}")
        return out


def _env(folder: Path, store_url: str, dagster_url: str, web_url: str, session: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XBOT_", "DAGSTER_"))}
    env.update(
        {
            "XBOT_HOME": str(folder / "xbot"),
            "XBOT_DATABASE_URL": store_url,
            "XBOT_DAGSTER_PG_URL": make_url(dagster_url)
            .set(drivername="postgresql+psycopg2")
            .render_as_string(False),
            "DAGSTER_HOME": str(folder / "dagster_home"),
            "XBOT_PUBLISHER": "browser",
            "XBOT_X_WEB_URL": web_url,
            "XBOT_SESSION_FILE": str(session),
            "XBOT_ACCOUNT": ACCOUNT,
            "XBOT_POSTING_CRON": "* * * * *",
            "XBOT_RECOVERY_CRON": "* * * * *",
        }
    )
    return env


def _wait(what: str, check: Any, timeout: float, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def run_drill(
    topology: str = "dev",
    *,
    full: bool = False,
    slow_s: float = 14.0,
    timeout: float = 600.0,
    store_url: str | None = None,
    keep: bool = False,
) -> DrillResult:
    """The drill; raises on any broken promise (slot not freed, no successful run, a lost or doubled post)."""
    folder = Path(tempfile.mkdtemp(prefix="xbot-drill-"))
    result = DrillResult(topology)
    stack = contextlib.ExitStack()
    try:
        dagster_url = stack.enter_context(pg_database("xbot_drill_dagster", keep))
        store_url = store_url or stack.enter_context(pg_database("xbot_drill_store", keep))
        (folder / "dagster_home").mkdir()
        shutil.copy(ROOT / "dagster.yaml", folder / "dagster_home" / "dagster.yaml")
        state, session = folder / "sandbox.sqlite3", folder / "xbot" / "sessions" / f"{ACCOUNT}.json"
        port = free_port()
        env = _env(folder, store_url, dagster_url, f"http://127.0.0.1:{port}", session)
        os.environ.update({k: env[k] for k in ("XBOT_DAGSTER_PG_URL", "DAGSTER_HOME")})

        stand_in = Services(env)
        stack.callback(stand_in.stop, 15)
        sandbox_log = (folder / "sandbox.log").open("a")
        stand_in.start(
            "stand-in",
            [
                *XBOT,
                "sandbox",
                "serve",
                "--port",
                str(port),
                "--state",
                str(state),
                "--session-file",
                str(session),
            ],
            stdout=sandbox_log,
            stderr=sandbox_log,
        )
        _wait("the stand-in", lambda: session.exists() and _answers(env["XBOT_X_WEB_URL"]), 60)
        log(f"stand-in on {env['XBOT_X_WEB_URL']}; folder {folder}")

        rt, texts = _queue_posts(env)
        from xbot_pipeline.sandbox.state import SandboxState

        sandbox = SandboxState(state)
        stack.callback(sandbox.close)
        sandbox.add_fault("slow_button", next_n=1, account=ACCOUNT, params={"seconds": slow_s})

        import dagster as dg

        instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
        stack.callback(instance.dispose)
        dagster = Dagster(env, topology, folder)
        stack.callback(dagster.stop)
        dagster.start()
        log(f"Dagster started ({topology}); waiting for a scheduled posting run to reach the slow composer")

        from xbot_pipeline.store.posts import get_post

        a_id, b_id = texts
        _wait("post A claimed", lambda: get_post(rt.store, a_id)["status"] == "posting", 240)
        _wait("the slow composer", lambda: not any(f.kind == "slow_button" for f in sandbox.faults()), 60)
        time.sleep(2)  # typing into the composer, the post button still disabled
        claimed_by = get_post(rt.store, a_id)["claimed_by"] or ""
        result.killed_run = claimed_by.split(":", 2)[-1]
        result.slot_held_at_kill = _slot_held(instance, result.killed_run)
        dagster.kill()
        killed_at = time.monotonic()
        log(f"run {result.killed_run} was publishing post {a_id}; slot held: {result.slot_held_at_kill}")
        dagster.start()
        log("Dagster restarted; nobody touches anything from here")

        def since() -> float:
            return time.monotonic() - killed_at

        milestones = {
            "killed run marked failed": lambda: _run_status(instance, result.killed_run) == "FAILURE",
            "browser slot freed": lambda: not _slot_held(instance, result.killed_run),
            "post A handed to recovery": lambda: get_post(rt.store, a_id)["status"] != "posting",
            "next posting run succeeded": lambda: _next_success(instance, result),
            "post B published": lambda: get_post(rt.store, b_id)["status"] == "posted",
        }
        if full:
            milestones["post A published"] = lambda: get_post(rt.store, a_id)["status"] == "posted"
        pending = dict(milestones)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for name, check in list(pending.items()):
                if check():
                    result.seconds[name] = since()
                    log(f"{name} ({since():.0f} s after the kill)")
                    del pending[name]
            time.sleep(1)
        result.final_status = {p: get_post(rt.store, i)["status"] for p, i in (("A", a_id), ("B", b_id))}
        texts_on_x = [p["text"] for p in sandbox.posts(account=sandbox.account(ACCOUNT))]
        for label, post_id in (("A", a_id), ("B", b_id)):
            result.copies_on_x[label] = texts_on_x.count(get_post(rt.store, post_id)["text"])
        if pending:
            raise AssertionError(f"not within {timeout:.0f} s: {', '.join(pending)} ({result.lines()})")
        if any(n > 1 for n in result.copies_on_x.values()):
            raise AssertionError(f"a post went out twice: {result.copies_on_x}")
        if result.final_status["A"] == "posted" and result.copies_on_x["A"] != 1:
            raise AssertionError("post A is marked posted but is not on the stand-in")
        if result.final_status["A"] in ("failed", "failed_permanent", "cancelled", "skipped"):
            raise AssertionError(f"post A was lost: {result.final_status['A']}")
        rt.store.engine.dispose()
        return result
    finally:
        stack.close()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        httpx.get(url + "/i/flow/login", timeout=2)
        return True
    except httpx.HTTPError:
        return False


def _queue_posts(env: dict[str, str]) -> tuple[Any, tuple[int, int]]:
    from xbot_pipeline.posting.enqueue import enqueue
    from xbot_pipeline.runtime import open_runtime
    from xbot_pipeline.settings import load_settings
    from xbot_pipeline.store.accounts import ensure_account, set_publisher, update_limits

    rt = open_runtime(load_settings({k: v for k, v in env.items() if k.startswith("XBOT_")}))
    ensure_account(rt.store, ACCOUNT, handle=ACCOUNT, publisher="browser")
    set_publisher(rt.store, ACCOUNT, "browser")
    update_limits(rt.store, ACCOUNT, LIMITS)
    tag = uuid.uuid4().hex[:6]
    a = enqueue(rt.store, ACCOUNT, "single", f"Drill {tag} A: the post being published when Dagster dies.")
    b = enqueue(rt.store, ACCOUNT, "single", f"Drill {tag} B: the next scheduled run publishes this one.")
    return rt, (int(a["id"]), int(b["id"]))


def _slot_held(instance: Any, run_id: str) -> bool:
    info = instance.event_log_storage.get_concurrency_info("browser")
    return any(slot.run_id == run_id for slot in info.claimed_slots)


def _run_status(instance: Any, run_id: str) -> str:
    run = instance.get_run_by_id(run_id)
    return run.status.value if run else ""


def _next_success(instance: Any, result: DrillResult) -> bool:
    import dagster as dg

    records = instance.get_run_records(
        dg.RunsFilter(job_name="posting_job", statuses=[dg.DagsterRunStatus.SUCCESS]), limit=20
    )
    killed = instance.get_run_record_by_id(result.killed_run)
    after = [r for r in records if killed is None or r.create_timestamp > killed.create_timestamp]
    if after:
        result.next_run = after[-1].dagster_run.run_id
    return bool(after)


# -- idle CPU ------------------------------------------------------------------------------------------
def _group_ticks(pgid: int) -> tuple[int, set[int]]:
    """CPU ticks of every process in a group (with their reaped children), and the pids seen."""
    total, pids = 0, set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
            pids.add(int(entry.name))
    return total, pids


def measure_idle(seconds: float) -> list[str]:
    """The daemon's (and code server's) idle CPU with each workspace, nothing to do."""
    lines = []
    for topology in ("dev", "production"):
        with contextlib.ExitStack() as stack:
            folder = Path(tempfile.mkdtemp(prefix="xbot-idle-"))
            stack.callback(shutil.rmtree, folder, True)
            dagster_url = stack.enter_context(pg_database("xbot_idle_dagster"))
            store_url = stack.enter_context(pg_database("xbot_idle_store"))
            (folder / "dagster_home").mkdir()
            shutil.copy(ROOT / "dagster.yaml", folder / "dagster_home" / "dagster.yaml")
            env = _env(folder, store_url, dagster_url, "http://127.0.0.1:9", folder / "session.json")
            env.pop("XBOT_POSTING_CRON"), env.pop("XBOT_RECOVERY_CRON")
            dagster = Dagster(env, topology, folder)
            stack.callback(dagster.stop)
            dagster.start()
            time.sleep(60)  # past start-up
            assert dagster.services is not None
            groups = {name: proc.pid for name, proc in dagster.services.procs}
            start = {name: _group_ticks(pgid)[0] for name, pgid in groups.items()}
            servers: set[int] = set()
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                for pid in _group_ticks(groups["dagster-daemon"])[1]:
                    with contextlib.suppress(OSError):
                        if "api\0grpc" in Path(f"/proc/{pid}/cmdline").read_text():
                            servers.add(pid)
                time.sleep(2)
            hz = os.sysconf("SC_CLK_TCK")
            elapsed = time.monotonic() - t0
            for name, pgid in groups.items():
                cores = (_group_ticks(pgid)[0] - start[name]) / hz / elapsed
                lines.append(f"{topology}: {name} (with its children) {cores:.3f} cores over {elapsed:.0f} s")
            lines.append(f"{topology}: code servers started by the daemon while measured: {len(servers)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topology", choices=("dev", "production"), default="dev")
    parser.add_argument("--full", action="store_true", help="also wait until post A is published")
    parser.add_argument("--slow-s", type=float, default=14.0, help="how long the composer stays disabled")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true", help="keep the folder and databases")
    parser.add_argument("--measure-idle", type=float, metavar="SECONDS", help="measure idle CPU instead")
    args = parser.parse_args()
    if args.measure_idle:
        for line in measure_idle(args.measure_idle):
            print(line)
        return
    result = run_drill(
        args.topology, full=args.full, slow_s=args.slow_s, timeout=args.timeout, keep=args.keep
    )
    print("\n".join(result.lines()))


if __name__ == "__main__":
    main()
