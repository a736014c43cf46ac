"""`xbot demo`: the main job end to end on embedded defaults (SQLite, local instance, local X stand-in).

Every step runs the same code production runs: the Dagster jobs execute on the local instance (so the runs
show up in ``xbot ui`` afterwards), the publisher drives Chromium (or the API when no browser is found)
against the stand-in, and the health assets publish the DuckDB snapshot.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from xbot_pipeline.cli.app import CliError, app, console
from xbot_pipeline.cli.status import print_status
from xbot_pipeline.instance import ensure_local_instance
from xbot_pipeline.settings import Settings, load_settings

DEMO_ACCOUNT = "xbot_demo"
# The stand-in's demo account may post faster than X's seed limits so the demo shows a full pass.
LAG_S = 3.0  # how long the stand-in hides the post whose id it loses (X's timelines lag too)
DEMO_LIMITS = {
    "per_hour": 30,
    "min_spacing_s": 0,
    "per_run": 10,
    "threads_per_hour": 5,
    "threads_per_day": 20,
}


@app.command()
def demo(
    publisher: str = typer.Option(
        "auto", help="browser (Chromium on the stand-in's web page), api, or auto (browser when found)."
    ),
) -> None:
    """Post a single, a thread and a reply through posting_job, lose one id and recover it with
    recovery_job, materialize health and the DuckDB snapshot, then print the status."""
    started = time.perf_counter()
    settings = load_settings()
    kind = _pick_publisher(publisher, settings)
    with _stand_in(settings) as server:
        _point_at(server, settings)
        rt, definitions, instance = _open(settings)
        store_url = rt.store.engine.url.render_as_string(hide_password=True)
        _step(1, f"store {store_url}; Dagster home {instance.root_directory}")
        _step(2, f"stand-in X at {server.web_url} (publisher: {kind})")
        post_ids = _queue(rt, server, kind)
        _step(3, f"queued posts {post_ids}; the stand-in will lose the next post's id for {LAG_S:.0f} s")
        server.admin.inject("missing_id", next_n=1, account=DEMO_ACCOUNT, hide_s=LAG_S)
        posted = _run_job(definitions, instance, "posting_job")
        _step(4, f"posting_job: {_fmt(posted)}")
        reply = _queue_reply(rt, post_ids[-1])
        if reply:
            again = _run_job(definitions, instance, "posting_job")
            _step(5, f"reply {reply} queued to our own thread; posting_job: {_fmt(again)}")
        time.sleep(LAG_S)  # the lost post shows up on the timeline, where recovery finds it
        recovered = _run_job(
            definitions,
            instance,
            "recovery_job",
            {"ops": {op: {"config": {"settle_s": 0}} for op in ("recover_posts", "recover_browser_posts")}},
        )
        _step(6, f"recovery_job: {_fmt(recovered)}")
        _step(7, _health(definitions, instance, settings))
    _print_posts(rt.store, post_ids + ([reply] if reply else []))
    from xbot_pipeline.store.status import status_summary

    print_status(status_summary(rt.store))
    console.print(
        f"\n[bold green]demo done[/bold green] in {time.perf_counter() - started:.1f} s. "
        f"Next: [bold]xbot ui[/bold] (runs, assets, checks), "
        f"[bold]xbot status[/bold], or open {settings.warehouse_path} with DuckDB."
    )


def _step(n: int, text: str) -> None:
    console.print(f"[bold]{n}.[/bold] {text}")


def _fmt(out: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in out.items() if v) or "nothing to do"


def _pick_publisher(choice: str, settings: Settings) -> str:
    choice = choice.strip().lower()
    if choice not in ("auto", "browser", "api"):
        raise CliError(f"--publisher must be auto, browser or api, got {choice!r}")
    if choice != "auto":
        return choice
    from xbot_pipeline.publishing.browser import pick_executable

    return "browser" if pick_executable(settings.browser_executable) else "api"


@contextmanager
def _stand_in(settings: Settings) -> Iterator[Any]:
    from xbot_pipeline.cli.sandbox import default_state_path
    from xbot_pipeline.sandbox.server import SandboxServer

    state = default_state_path(settings)  # the file `xbot sandbox posts|fault|reset` work on
    state.parent.mkdir(parents=True, exist_ok=True)
    with SandboxServer(state) as server:
        yield server


def _point_at(server: Any, settings: Settings) -> None:
    """Point this process's settings (read by the jobs' resource) at the stand-in's demo account."""
    os.environ["XBOT_X_WEB_URL"] = server.web_url
    os.environ["XBOT_X_API_URL"] = server.api_url
    os.environ["XBOT_X_API_TOKEN"] = server.account(DEMO_ACCOUNT).token
    server.write_storage_state(DEMO_ACCOUNT, settings.home / "sessions" / f"{DEMO_ACCOUNT}.json")


def _open(settings: Settings) -> tuple[Any, Any, Any]:
    import dagster as dg

    from xbot_pipeline.definitions import defs
    from xbot_pipeline.runtime import open_runtime

    home = ensure_local_instance(settings)
    os.environ["DAGSTER_HOME"] = str(home)
    rt = open_runtime(load_settings())
    return rt, defs(), dg.DagsterInstance.get()


def _queue(rt: Any, server: Any, kind: str) -> list[int]:
    from xbot_pipeline.posting.enqueue import enqueue
    from xbot_pipeline.store.accounts import ensure_account, set_publisher, update_limits

    ensure_account(rt.store, DEMO_ACCOUNT, handle=DEMO_ACCOUNT, publisher=kind)
    set_publisher(rt.store, DEMO_ACCOUNT, kind)
    update_limits(rt.store, DEMO_ACCOUNT, DEMO_LIMITS)
    tag = uuid.uuid4().hex[:6]
    single = enqueue(
        rt.store, DEMO_ACCOUNT, "single", f"Demo {tag}: a walk after meals flattens the glucose curve."
    )
    thread = enqueue(
        rt.store,
        DEMO_ACCOUNT,
        "thread",
        [
            f"Demo {tag}: three sleep habits worth keeping, a thread.",
            f"1/ Same wake time daily ({tag}).",
            f"2/ A dark, cool room ({tag}).",
        ],
    )
    return [single["id"], thread["id"]]


def _queue_reply(rt: Any, thread_id: int) -> int | None:
    from xbot_pipeline.posting.enqueue import enqueue
    from xbot_pipeline.store.posts import get_post

    thread = get_post(rt.store, thread_id)
    target = thread["tweet_id"] if thread else None
    if not target:
        return None
    return enqueue(
        rt.store,
        DEMO_ACCOUNT,
        "reply",
        f"Bonus ({uuid.uuid4().hex[:6]}): morning light helps too.",
        reply_to=target,
    )["id"]


# Runs log to the instance (see them in `xbot ui`); the terminal gets only warnings and the summary lines.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
SUMMARY_OP = {"posting_job": "summarize_posting", "recovery_job": "summarize_recovery"}


def _run_job(definitions: Any, instance: Any, name: str, run_config: dict | None = None) -> dict[str, Any]:
    job = definitions.resolve_job_def(name)
    result = job.execute_in_process(
        instance=instance, run_config={**QUIET, **(run_config or {})}, raise_on_error=False
    )
    if not result.success:
        raise CliError(f"{name} failed (run {result.run_id}); see `xbot ui` for its logs")
    # every shard's step (API and browser accounts) is gathered by the job's summary step
    return dict(result.output_for_node(SUMMARY_OP[name])["counts"])


def _health(definitions: Any, instance: Any, settings: Settings) -> str:
    # health_job by its definition in the code location (not an ad-hoc materialize), so the runs list
    # shows `health_job`, as it shows posting_job and recovery_job
    job = definitions.resolve_job_def("health_job")
    result = job.execute_in_process(instance=instance, run_config=QUIET, raise_on_error=False)
    checks = result.get_asset_check_evaluations()
    passed = sum(1 for c in checks if c.passed)
    score: object = "?"
    for mat in result.get_asset_materialization_events():
        if mat.asset_key and mat.asset_key.path[-1] == "system_health_report":
            score = mat.materialization.metadata.get("overall_health", score)
            score = getattr(score, "value", score)
    return (
        f"health_job: health {score}/100, {passed}/{len(checks)} checks passed; "
        f"snapshot {settings.warehouse_path}"
    )


def _print_posts(store: Any, post_ids: list[int]) -> None:
    from rich.table import Table

    from xbot_pipeline.store.posts import get_post

    table = Table(title="Demo posts", show_edge=False)
    for col in ("id", "kind", "status", "tweet id", "text"):
        table.add_column(col)
    for pid in post_ids:
        row = get_post(store, pid)
        if row is None:
            continue
        table.add_row(str(pid), row["kind"], row["status"], row["tweet_id"] or "-", row["text"][:48])
    console.print(table)
