"""`xbot ui`: the Dagster webserver and daemon on one long-running code server, as production runs them.

Not `dagster dev`: Dagster 1.13 marks it superseded (it prints a warning asking for `dg dev`, which needs
the separate dagster-dg-cli package and a dg project), and stopping it with SIGTERM ends in "Aborted!".
`xbot ui` starts the three processes production runs (docs/PRODUCTION.md): `dagster code-server start`
(loads the code location once and keeps it; the daemon then never spawns code servers of its own),
`dagster-webserver` and `dagster-daemon run`, both on a generated workspace pointing at that server with
the location name ``xbot_pipeline``. On SIGTERM or Ctrl-C it stops them in order and exits 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType

import typer

from xbot_pipeline.cli.app import app, console, fail, write_error_line
from xbot_pipeline.instance import dagster_home_for
from xbot_pipeline.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
LOCATION = "xbot_pipeline"  # sensor cursors and schedule state are kept per location name: never change it
MODULE = "xbot_pipeline.definitions"
STOP_TIMEOUT_S = 60.0


def grpc_workspace_yaml(host: str, port: int) -> str:
    """A workspace that loads the location from a running code server (what workspace.production.yaml is)."""
    return (
        "load_from:\n"
        "  - grpc_server:\n"
        f"      host: {host}\n"
        f"      port: {port}\n"
        f"      location_name: {LOCATION}\n"
    )


def code_server_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dagster",
        "code-server",
        "start",
        "-m",
        MODULE,
        "--location-name",
        LOCATION,
        "-h",
        host,
        "-p",
        str(port),
        "-d",
        str(ROOT),
    ]


def webserver_command(workspace: Path, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "dagster_webserver", "-w", str(workspace), "-h", host, "-p", str(port)]


def daemon_command(workspace: Path) -> list[str]:
    return [sys.executable, "-m", "dagster._daemon", "run", "-w", str(workspace)]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _default_signals() -> None:
    # Dagster maps SIGTERM to SIGINT's handler: a SIGINT ignored by a background shell would make both
    # ignored, and the process could then only be killed.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Services:
    """Child processes started in their own process groups and stopped in reverse order, never leaked."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], **popen: object) -> subprocess.Popen:
        proc = subprocess.Popen(
            command, env=self.env, cwd=ROOT, start_new_session=True, preexec_fn=_default_signals, **popen
        )  # type: ignore[call-overload]
        self.procs.append((name, proc))
        return proc

    def exited(self) -> tuple[str, int] | None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                return name, int(proc.returncode)
        return None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM each (last started first), wait, then kill whatever is left in each group."""
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
        for _name, proc in self.procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # run workers and code servers it started
            proc.wait()


def wait_for_code_server(host: str, port: int, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    """Until the code server answers a ping (it loads the definitions first)."""
    from dagster._grpc.client import DagsterGrpcClient

    client = DagsterGrpcClient(port=port, host=host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the code server exited with code {proc.returncode} while loading")
        with contextlib.suppress(Exception):
            client.ping("xbot")
            return
        time.sleep(0.5)
    raise RuntimeError(f"the code server did not answer within {timeout:.0f} s")


@contextlib.contextmanager
def dagster_services(
    env: Mapping[str, str], *, host: str = "127.0.0.1", webserver_port: int | None = None, **popen: object
) -> Iterator[Services]:
    """Code server + daemon (+ webserver when a port is given) on a generated gRPC workspace."""
    services = Services(env)
    grpc_port = free_port(host)
    with tempfile.TemporaryDirectory(prefix="xbot-ui-") as folder:
        workspace = Path(folder) / "workspace.yaml"
        workspace.write_text(grpc_workspace_yaml(host, grpc_port))
        try:
            server = services.start("code server", code_server_command(host, grpc_port), **popen)
            wait_for_code_server(host, grpc_port, server)
            services.start("dagster-daemon", daemon_command(workspace), **popen)
            if webserver_port is not None:
                services.start(
                    "dagster-webserver", webserver_command(workspace, host, webserver_port), **popen
                )
            yield services
        finally:
            services.stop()


class _StopRequested:
    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.signal = signum


@app.command()
def ui(
    port: int = typer.Option(3000, help="Webserver port (1-65535)."), host: str = typer.Option("127.0.0.1")
) -> None:
    """Start the Dagster UI and daemon (schedules and sensors run) on the embedded or production instance."""
    if not 1 <= port <= 65535:
        fail(f"--port must be between 1 and 65535, got {port}")
    if port_in_use(host, port):
        fail(f"port {port} on {host} is already in use; pick another with --port")
    settings = load_settings()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home_for(settings))}
    stop = _StopRequested()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        with dagster_services(env, host=host, webserver_port=port) as services:
            console.print(f"Dagster UI on http://{host}:{port}  (DAGSTER_HOME={env['DAGSTER_HOME']})")
            while stop.signal is None:
                ended = services.exited()
                if ended is not None:
                    raise RuntimeError(f"{ended[0]} exited with code {ended[1]}; Dagster stopped")
                time.sleep(0.5)
    except RuntimeError as exc:
        write_error_line(str(exc))
        raise typer.Exit(1) from None
    console.print("Dagster stopped.")
