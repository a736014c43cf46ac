"""`xbot status`: queue, breakers and health at a glance (``--json`` for scripts)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from xbot_pipeline.analytics.service import account_health_frame
from xbot_pipeline.cli.app import app, console, runtime
from xbot_pipeline.events.quarantine import quarantined
from xbot_pipeline.posting.journal import default_journal_path
from xbot_pipeline.store.status import status_summary


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")) -> None:
    """Queue, circuit breakers and health at a glance."""
    rt = runtime()
    summary = status_summary(rt.store)
    summary["fleet"] = account_health_frame(rt.store, rt.store.clock.now(), rt.settings.health).to_dicts()
    summary["spooled_events"] = rt.tracker.spool.pending()
    summary["quarantined_lines"] = {  # spool/journal lines set aside (docs/RELIABILITY.md)
        "spool": quarantined(rt.tracker.spool.path),
        "journal": quarantined(default_journal_path(rt.settings.home)),
    }
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
    print_fleet(summary)
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
    bad = summary.get("quarantined_lines") or {}
    if any(bad.values()):
        console.print(
            f"[red]Quarantined lines:[/red] spool {bad.get('spool', 0)}, journal {bad.get('journal', 0)} "
            "(XBOT_HOME/spool/events.quarantine, XBOT_HOME/posting/outcomes.quarantine)"
        )


FLEET_ROWS = 15


def print_fleet(summary: dict) -> None:
    """Every account's health, worst first (the first ``FLEET_ROWS``; ``--json`` has them all)."""
    fleet = summary.get("fleet") or []
    if not fleet:
        return
    accounts = {a["id"]: a for a in summary.get("accounts", [])}
    table = Table(title=f"Fleet: {len(fleet)} account(s), worst first", show_edge=False)
    for col in ("account", "status", "health", "errors 24h", "recovery %", "posting %", "failing"):
        table.add_column(col)
    for row in fleet[:FLEET_ROWS]:
        colour = "red" if row["failing"] else "green"
        table.add_row(
            row["account_id"],
            (accounts.get(row["account_id"]) or {}).get("status") or "-",
            f"[{colour}]{row['health']}[/{colour}]",
            str(row["errors_24h"]),
            f"{row['recovery_rate']:g}",
            f"{row['posting_success_rate']:g} of {row['posts_attempted']}",
            ", ".join(row["failing"]) or "-",
        )
    console.print(table)
    if len(fleet) > FLEET_ROWS:
        failing = sum(1 for row in fleet if row["failing"])
        console.print(f"  ... {len(fleet) - FLEET_ROWS} more ({failing} failing in all; xbot status --json)")
