"""What an operator sees in `xbot ui`: the runs list names the jobs (posting_job, recovery_job,
health_job, not `__ephemeral_asset_job__`) and a sensor's tick says what it did. Real processes all the
way: the named jobs run on the embedded instance, `xbot ui` starts its code server, webserver and daemon,
the daemon ticks `alerts_sensor`, and a real headless Chromium reads the pages and screenshots them.

Set XBOT_TEST_UPDATE_DOCS_SCREENSHOTS=1 to copy the screenshots to docs/ (docs/OPERATOR.md shows them).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import httpx
import pytest

from xbot_pipeline.instance import ensure_local_instance
from xbot_pipeline.publishing.browser import pick_executable
from xbot_pipeline.publishing.browser.lifecycle import LAUNCH_ARGS
from xbot_pipeline.settings import Settings
from xbot_pipeline.store import Store
from xbot_pipeline_tests.fixtures.health import add_event
from xbot_pipeline_tests.procutil import start_xbot_in_background, stop_or_kill

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_chromium_left")]

DOCS = Path(__file__).resolve().parents[2] / "docs"
UPDATE_DOCS = os.environ.get("XBOT_TEST_UPDATE_DOCS_SCREENSHOTS") == "1"  # read before the XBOT_* reset below
JOBS = ("posting_job", "recovery_job", "health_job")
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
SUMMARY = "sent 1 (health_low → log), suppressed 0, resolved 0"
TICKS = """{ sensorOrError(sensorSelector: {repositoryLocationName: "xbot_pipeline",
  repositoryName: "__repository__", sensorName: "alerts_sensor"}) {
  ... on Sensor { sensorState { ticks(limit: 5) { status skipReason cursor } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def operator_home(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The embedded instance with one run of each named job, and a low health report for the alerts
    sensor to act on; returns the environment `xbot ui` runs with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XBOT_", "DAGSTER_"))}
    env.update(XBOT_HOME=str(settings.home), XBOT_DATABASE_URL=settings.database_url)
    for name in [k for k in os.environ if k.startswith(("XBOT_", "DAGSTER_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XBOT_HOME", env["XBOT_HOME"])
    monkeypatch.setenv("XBOT_DATABASE_URL", env["XBOT_DATABASE_URL"])
    from xbot_pipeline.definitions import defs

    definitions = defs()
    with dg.DagsterInstance.from_config(str(ensure_local_instance(settings))) as instance:
        for name in JOBS:  # as the demo runs them: by their definitions in the code location
            result = definitions.resolve_job_def(name).execute_in_process(instance=instance, run_config=QUIET)
            assert result.success, name
    store.clock.set(datetime.now(UTC))
    add_event(
        store,
        "system_health_report",
        store.clock.now(),
        severity="warning",
        component="health",
        data={"overallHealth": 41, "recoveryRate": 100, "criticalIssues": ["error rate 6.3/h (> 5/h)"]},
    )
    yield env


def _wait_for_tick(port: int, proc, deadline: float) -> dict:
    """The daemon's first alerts_sensor tick, read back through the webserver's GraphQL."""
    while time.monotonic() < deadline:
        assert proc.poll() is None, "xbot ui exited early"
        try:
            answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": TICKS}, timeout=5).json()
            ticks = answer["data"]["sensorOrError"]["sensorState"]["ticks"]
            if ticks and ticks[0]["skipReason"]:
                return ticks[0]
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError("no alerts_sensor tick within the wait")


def test_runs_list_names_the_jobs_and_a_tick_says_what_it_did(operator_home: dict[str, str], tmp_path: Path):
    from playwright.sync_api import sync_playwright

    executable = pick_executable(None)
    if executable is None:
        pytest.skip("no Chromium on this machine")
    port = _free_port()
    started = time.monotonic()
    with (tmp_path / "ui.out").open("w") as out, (tmp_path / "ui.err").open("w") as err:
        proc = start_xbot_in_background(
            "ui", "--port", str(port), env=operator_home, cwd=tmp_path, stdout=out, stderr=err
        )
    shots = {"runs": tmp_path / "ui-runs.png", "tick": tmp_path / "ui-sensor-tick.png"}
    try:
        tick = _wait_for_tick(port, proc, started + 120)
        print(f"first alerts_sensor tick {time.monotonic() - started:.1f} s after `xbot ui` started")
        assert tick["status"] == "SKIPPED" and tick["skipReason"] == SUMMARY and tick["cursor"] == SUMMARY
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 760})
                # Dagster's first-visit "Join the community" dialog would cover the pages: mark it seen
                page.add_init_script("window.localStorage.setItem('communityNux', '\"1\"')")
                page.set_default_timeout(30_000)
                page.goto(f"{base}/runs")
                for job in JOBS:
                    page.get_by_text(job, exact=True).first.wait_for(state="visible")
                assert page.get_by_text("__ephemeral_asset_job__").count() == 0
                page.screenshot(path=str(shots["runs"]))

                page.goto(f"{base}/locations/xbot_pipeline/sensors/alerts_sensor")
                row = page.locator("tbody tr").filter(has_text="View logs").first
                row.wait_for(state="visible")
                assert row.get_by_title(SUMMARY).count() == 1  # the cursor column: the summary in full
                row.get_by_text("0 runs requested").first.hover()  # its tooltip: the skip reason
                page.get_by_role("tooltip").filter(has_text=SUMMARY).first.wait_for(state="visible")
                page.wait_for_timeout(500)  # the tooltip fades in: screenshot it opaque
                page.screenshot(path=str(shots["tick"]))
            finally:
                browser.close()
    finally:
        stop_or_kill(proc, signal.SIGTERM, timeout=90)
    print(f"pages read and `xbot ui` stopped {time.monotonic() - started:.1f} s after it started")
    assert proc.returncode == 0, (tmp_path / "ui.err").read_text()[-2000:]
    for shot in shots.values():
        assert shot.read_bytes().startswith(b"\x89PNG")
    if UPDATE_DOCS:
        for shot in shots.values():
            shutil.copyfile(shot, DOCS / shot.name)
