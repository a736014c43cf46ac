"""`xbot plan`, `xbot metrics`, `xbot learning`: the learning passes on demand, and what was learned."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import typer
from rich.table import Table

from xbot_pipeline.cli.app import CliError, app, console, runtime
from xbot_pipeline.passes import learning as service
from xbot_pipeline.store import learning as q


@app.command()
def plan(
    seed: int | None = typer.Option(
        None, "--seed", help="Random seed for the Thompson draws (reproducible)."
    ),
) -> None:
    """Run one planning pass now (what planning_job does hourly): fill each queue to its horizon."""
    report = service.plan(runtime(), seed=seed)
    for line in report.lines:
        console.print(str(line))
    console.print(report.summary())


@app.command()
def metrics() -> None:
    """Run one metrics pass now (what metrics_job does every 20 min): read due posts' public metrics."""
    report = service.collect_metrics(runtime())
    for account, why in sorted(report.deferred.items()):
        console.print(f"[{account}] deferred: {why}")
    console.print(report.summary())


def _arms(rt: Any, account: str | None) -> list[dict[str, Any]]:
    """The posteriors as the `bandit_posteriors` asset computes them, best first within each family."""
    frame = service.posteriors_frame(rt)
    if account:
        frame = frame.filter(pl.col("account_id") == account)
    frame = frame.sort(["account_id", "family", "mean", "arm"], descending=[False, False, True, False])
    return frame.to_dicts()


@app.command()
def learning(
    account: str | None = typer.Option(None, "--account", "-a", help="Only this account."),
    update: bool = typer.Option(
        False, "--update", help="First run one learning step (what learning_job does hourly)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """What the bandit has learned: each arm's posterior mean (best first) and the rewards behind it."""
    rt = runtime()
    if update:
        swept, measured, report = service.update(rt)
        applied = sum(report.applied.values())
        console.print(f"learning: {swept} hand-offs swept, {measured} rewards measured, {applied} applied")
    arms = _arms(rt, account)
    rewards = q.reward_rows(rt.store, account)
    counts = Counter(
        "applied" if r.get("applied_at") else "measured" if r.get("reward") is not None else "waiting"
        for r in rewards
    )
    if account and not arms and not rewards:
        known = {r["account_id"] for r in q.all_arms(rt.store)} | set(q.reward_accounts(rt.store))
        if account not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise CliError(f"no learning state for account {account!r} (known: {listed})")
    if as_json:
        typer.echo(json.dumps({"arms": arms, "rewards": dict(counts)}, indent=2, default=str))
        return
    table = Table(
        title="Bandit posteriors (mean = expected reward: 24 h engagement rate / reward scale)",
        show_edge=False,
    )
    for col in ("account", "family", "arm"):
        table.add_column(col)
    for col in ("mean", "± std", "alpha", "beta", "n_eff", "obs"):
        table.add_column(col, justify="right")
    for r in arms:
        table.add_row(
            r["account_id"],
            r["family"],
            r["arm"],
            f"{r['mean']:.3f}",
            f"{r['std']:.3f}",
            f"{r['alpha']:.1f}",
            f"{r['beta']:.1f}",
            f"{r['n_eff']:.1f}",
            str(r["observations"]),
        )
    if not arms:
        table.add_row("-", "-", "-", "-", "-", "-", "-", "-", "no rewards applied yet")
    console.print(table)
    console.print(
        f"rewards: {counts['applied']} applied, {counts['measured']} measured (next learning step), "
        f"{counts['waiting']} waiting for their 24 h metrics"
    )


@app.command("best-times")
def best_times_command(
    account: str = typer.Argument(..., help="The account whose posting hours to show."),
    png: Path | None = typer.Option(
        None, "--png", help="Where to write the chart (default: XBOT_HOME/best-times/ACCOUNT.png)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print machine-readable JSON (the PNG is still written)."
    ),
) -> None:
    """The bandit's posterior over posting hours (UTC): mean, 90 % interval and pulls, plus a PNG chart."""
    from xbot_pipeline.learning import best_times as bt
    from xbot_pipeline.store.accounts import get_account

    rt = runtime()
    arms = q.load_arms(rt.store, account)
    if not arms and get_account(rt.store, account) is None:
        known = sorted({r["account_id"] for r in q.all_arms(rt.store)} | {a["id"] for a in _accounts(rt)})
        raise CliError(f"unknown account {account!r} (known: {', '.join(known) or 'none'})")
    config = rt.settings.learning
    hours = bt.hour_posteriors(arms, prior=(config.prior_alpha, config.prior_beta))
    target = png if png is not None else rt.settings.home / "best-times" / bt.png_name(account)
    if target.is_dir():
        raise CliError(f"--png must name a file, {target} is a folder")
    try:
        bt.render_png(hours, target, title=f"{account}: posterior mean reward by hour (UTC), 90 % interval")
    except OSError as exc:
        raise CliError(f"cannot write the chart to {target}: {exc.strerror or exc}") from None
    pulls = sum(h.pulls for h in hours)
    if as_json:
        rows = [
            {"hour": h.hour, "mean": h.mean, "low": h.interval[0], "high": h.interval[1], "pulls": h.pulls}
            for h in hours
        ]
        typer.echo(json.dumps({"account": account, "hours": rows, "png": str(target)}, indent=2))
        return
    top = {h.hour for h in bt.best(hours)}
    table = Table(title=f"Best posting hours for {account} (UTC; bandit posterior)", show_edge=False)
    table.add_column("hour")
    for col in ("posterior mean", "90 % interval", "pulls"):
        table.add_column(col, justify="right")
    for h in hours:
        low, high = h.interval
        style = "bold green" if h.hour in top and pulls else None
        table.add_row(
            f"{h.hour:02d}:00", f"{h.mean:.3f}", f"{low:.3f} – {high:.3f}", str(h.pulls), style=style
        )
    console.print(table)
    if pulls:
        best = ", ".join(f"{h.hour:02d}:00" for h in bt.best(hours))
        console.print(f"best hours: {best} ({pulls} rewards observed)")
    else:
        console.print("no rewards applied yet: every hour is at the prior (run `xbot learning --update`)")
    console.print(f"chart: {target}")


def _accounts(rt: Any) -> list[dict[str, Any]]:
    from xbot_pipeline.store.accounts import list_accounts

    return list_accounts(rt.store)
