"""`xbot status`: queue, breakers and health at a glance (``--json`` for scripts)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from xbot_pipeline.cli.app import app, console, runtime
from xbot_pipeline.store.status import status_summary


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")) -> None:
    """Queue, circuit breakers and health at a glance."""
    rt = runtime()
    summary = status_summary(rt.store)
    summary["spooled_events"] = rt.tracker.spool.pending()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    print_status(summary)


def print_status(summary: dict) -> None:
    """The tables of ``xbot status`` (also printed at the end of ``xbot demo``)."""
    queue = Table(title="Queue", show_edge=False)
    for col in ("account", "status", "posts"):
        queue.add_column(col)
    for row in summary["queue"]:
        queue.add_row(row["account_id"], row["status"], str(row["count"]))
    if not summary["queue"]:
        queue.add_row("-", "empty", "0")
    console.print(queue)
    breakers = Table(title="Circuit breakers", show_edge=False)
    for col in ("account", "publisher", "state", "failures", "open until"):
        breakers.add_column(col)
    for b in summary["breakers"]:
        breakers.add_row(
            b["account_id"],
            b["publisher"],
            b["state"],
            str(b["consecutive_failures"]),
            b["open_until"] or "-",
        )
    if not summary["breakers"]:
        breakers.add_row("-", "-", "closed", "0", "-")
    console.print(breakers)
    health = summary["health"]
    if health:
        colour = "green" if (health["overallHealth"] or 0) >= 70 else "red"
        console.print(
            f"Health [{colour}]{health['overallHealth']}[/{colour}]/100 at {health['created_at']} "
            f"(error rate {health['errorRate']}/h, recovery {health['recoveryRate']}%)"
        )
        for issue in health["criticalIssues"] or []:
            console.print(f"  [red]critical:[/red] {issue}")
    else:
        console.print("Health: no report yet (materialize system_health_report)")
    console.print(
        f"Errors in the last 24 h: {summary['errors_24h']}; "
        f"spooled events: {summary.get('spooled_events', 0)}"
    )
