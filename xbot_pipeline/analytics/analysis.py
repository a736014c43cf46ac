"""Error analysis (every 6 h): patterns, top failures by root cause, recommendations and the
autonomous actions that are safe to take. Pure: frames and a time in, plain data out.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from xbot_pipeline.analytics.config import HealthThresholds

ROOT_CAUSES = (
    "network",
    "rate_limit",
    "automation_block",
    "session",
    "page_changed",
    "duplicate",
    "store",
    "unknown",
)
FAILED_OUTCOMES = ("rejected", "retryable", "unknown")
# root causes whose spike on one account is best met by opening that account's breaker
BREAKER_CAUSES = ("rate_limit", "automation_block", "network", "page_changed")

ROOT_CAUSE_SCHEMA = pl.Schema(
    {
        "root_cause": pl.String(),
        "failures": pl.Int64(),
        "accounts": pl.Int64(),
        "share": pl.Float64(),
        "top_account": pl.String(),
        "top_account_failures": pl.Int64(),
    }
)


@dataclass(frozen=True)
class Recommendation:
    component: str
    evidence: str
    action: str
    autonomous: bool = False  # True: the pipeline takes this action itself

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlannedAction:
    kind: str  # pause_account | open_breaker
    account_id: str
    reason: str
    evidence: str
    publisher: str | None = None
    until: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def failures_by_root_cause(attempts: pl.DataFrame) -> pl.DataFrame:
    """Failed attempts grouped by root-cause class, with the most affected account for each."""
    failed = attempts.filter(pl.col("outcome").is_in(FAILED_OUTCOMES)).with_columns(
        root_cause=pl.col("root_cause")
        .fill_null("unknown")
        .replace_strict({c: c for c in ROOT_CAUSES}, default="unknown")
    )
    if failed.is_empty():
        return pl.DataFrame(schema=ROOT_CAUSE_SCHEMA)
    total = failed.height
    per_account = (
        failed.group_by("root_cause", "account_id")
        .len()
        .sort(["len", "account_id"], descending=[True, False])
        .group_by("root_cause", maintain_order=True)
        .first()
        .rename({"account_id": "top_account", "len": "top_account_failures"})
    )
    out = failed.group_by("root_cause").agg(
        failures=pl.len().cast(pl.Int64), accounts=pl.col("account_id").n_unique().cast(pl.Int64)
    )
    out = out.join(per_account, on="root_cause", how="left").with_columns(
        share=(pl.col("failures") * 100.0 / total).round(2),
        top_account_failures=pl.col("top_account_failures").cast(pl.Int64),
    )
    return out.select(list(ROOT_CAUSE_SCHEMA)).sort(["failures", "root_cause"], descending=[True, False])


def error_patterns(errors: pl.DataFrame, now: datetime) -> dict[str, Any]:
    """Peak hour, most affected accounts and the share of the top error type."""
    if errors.is_empty():
        return {"errors": 0, "peak_hour_utc": None, "top_error_share": 0.0, "accounts": []}
    by_hour = (
        errors.group_by(pl.col("created_at").dt.hour().alias("hour"))
        .len()
        .sort(["len", "hour"], descending=[True, False])
    )
    by_type = errors.group_by("component", "error_type").len().sort("len", descending=True)
    by_account = (
        errors.filter(pl.col("account_id").is_not_null())
        .group_by("account_id")
        .len()
        .sort(["len", "account_id"], descending=[True, False])
        .head(5)
    )
    return {
        "errors": errors.height,
        "peak_hour_utc": int(by_hour["hour"][0]),
        "peak_hour_errors": int(by_hour["len"][0]),
        "top_error": f"{by_type['component'][0]}/{by_type['error_type'][0]}",
        "top_error_share": round(int(by_type["len"][0]) * 100.0 / errors.height, 2),
        "accounts": [{"account_id": a, "errors": int(n)} for a, n in by_account.iter_rows()],
    }


def recommendations(
    frequency: pl.DataFrame,
    recovery: pl.DataFrame,
    root_causes: pl.DataFrame,
    report: dict[str, Any] | None,
    actions: list[PlannedAction],
    thresholds: HealthThresholds,
) -> list[Recommendation]:
    """Name the component, the evidence and the action (the seed's rules plus root-cause rules)."""
    out: list[Recommendation] = []
    if not frequency.is_empty():
        top = frequency.row(0, named=True)
        if top["count"] >= thresholds.top_error_min_count:
            out.append(
                Recommendation(
                    top["component"],
                    f"{top['error_type']} occurred {top['count']} times in 24 h "
                    f"(last {top['last_seen']:%H:%M} UTC)",
                    f"Investigate {top['component']}: fix the cause of {top['error_type']} first",
                )
            )
    for row in recovery.iter_rows(named=True):
        if row["errors"] >= 3 and row["recovery_rate"] < thresholds.min_recovery_rate:
            out.append(
                Recommendation(
                    row["component"],
                    f"{row['recovered']}/{row['errors']} {row['error_type']} errors recovered "
                    f"({row['recovery_rate']}%)",
                    f"Add or fix the recovery path for {row['error_type']} in {row['component']}",
                )
            )
    advice = {
        "session": "Refresh the account's session (storage state) and resume the account",
        "rate_limit": "Lower the account's posting limits or spread its schedule",
        "automation_block": "Cool the account down; slow the posting cadence and vary timing",
        "page_changed": "Update the browser publisher's selectors (X changed its markup)",
        "network": "Check connectivity / proxy; retries cover short outages",
        "duplicate": "Check the queue for duplicate content before enqueuing",
        "store": "Check the operational database (disk, connections)",
        "unknown": "Read the attempt error messages; classify the new failure mode",
    }
    for row in root_causes.head(3).iter_rows(named=True):
        out.append(
            Recommendation(
                "posting",
                f"{row['failures']} failed attempts with root cause {row['root_cause']} ({row['share']}%), "
                f"most on account {row['top_account']} ({row['top_account_failures']})",
                advice.get(row["root_cause"], advice["unknown"]),
            )
        )
    if report and float(report.get("overallHealth", 100)) < thresholds.min_health:
        out.append(
            Recommendation(
                "system",
                f"health {report['overallHealth']}/100: "
                + "; ".join(report.get("criticalIssues") or ["no single cause"]),
                "Address the critical issues listed, starting with the lowest term",
            )
        )
    for action in actions:
        out.append(
            Recommendation(
                "posting", action.evidence, f"{action.kind} {action.account_id}: {action.reason}", True
            )
        )
    return out


def plan_actions(
    attempts: pl.DataFrame,
    now: datetime,
    thresholds: HealthThresholds,
    *,
    paused_accounts: AbstractSet[str] = frozenset(),
    open_breakers: AbstractSet[str] = frozenset(),
) -> list[PlannedAction]:
    """Safe autonomous actions: pause an account on repeated session failures; open an account's
    breaker on a spike of one root cause. Accounts already paused / already open are skipped."""
    window = timedelta(minutes=thresholds.action_window_minutes)
    recent = attempts.filter(
        (pl.col("started_at") > now - window) & pl.col("outcome").is_in(FAILED_OUTCOMES)
    ).with_columns(pl.col("root_cause").fill_null("unknown"))
    actions: list[PlannedAction] = []
    if recent.is_empty():
        return actions
    counts = recent.group_by("account_id", "root_cause").agg(n=pl.len(), publisher=pl.col("publisher").last())
    for row in counts.sort(["account_id", "root_cause"]).iter_rows(named=True):
        account, cause, n = row["account_id"], row["root_cause"], int(row["n"])
        evidence = (
            f"{n} {cause} failures on account {account} in the last {thresholds.action_window_minutes:g} min"
        )
        if (
            cause == "session"
            and n >= thresholds.session_failures_to_pause
            and account not in paused_accounts
        ):
            actions.append(PlannedAction("pause_account", account, "repeated session failures", evidence))
        elif (
            cause in BREAKER_CAUSES
            and n >= thresholds.root_cause_spike_count
            and account not in open_breakers
        ):
            until = now + timedelta(minutes=thresholds.breaker_open_minutes)
            actions.append(
                PlannedAction(
                    "open_breaker",
                    account,
                    f"spike of {cause}",
                    evidence,
                    row["publisher"],
                    until.isoformat(),
                )
            )
    return actions
