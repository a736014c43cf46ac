"""Errors grouped into issues by fingerprint (Sentry-style), kept incrementally.

The issue book is a plain dict (persisted by the caller) ``{fingerprint: {...}}`` plus a high-water mark
of the last error id folded in, so each run reads only errors it has not seen.
States: new (first seen within ``new_for``), ongoing, regressed (seen again after it was resolved),
resolved (every occurrence recovered, or quiet for ``resolve_after``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl

ISSUE_SCHEMA = pl.Schema(
    {
        "fingerprint": pl.String(),
        "component": pl.String(),
        "error_type": pl.String(),
        "first_seen": pl.Datetime("us", "UTC"),
        "last_seen": pl.Datetime("us", "UTC"),
        "count": pl.Int64(),
        "open_count": pl.Int64(),
        "state": pl.String(),
    }
)


def fold_errors(
    book: dict[str, Any],
    new_errors: pl.DataFrame,
    now: datetime,
    *,
    new_for: timedelta = timedelta(hours=24),
    resolve_after: timedelta = timedelta(hours=24),
) -> dict[str, Any]:
    """Return a new book with ``new_errors`` (rows with id > book's high-water mark) folded in."""
    issues: dict[str, dict[str, Any]] = {k: dict(v) for k, v in book.get("issues", {}).items()}
    hwm = int(book.get("hwm", 0))
    fresh = new_errors.filter(pl.col("id") > hwm)
    if not fresh.is_empty():
        fresh = fresh.with_columns(pl.col("fingerprint").fill_null("unfingerprinted"))
        grouped = fresh.group_by("fingerprint").agg(
            component=pl.col("component").first(),
            error_type=pl.col("error_type").first(),
            first=pl.col("created_at").min(),
            last=pl.col("created_at").max(),
            n=pl.len(),
            open=(~pl.col("recovered")).sum(),
        )
        for row in grouped.iter_rows(named=True):
            fp = row["fingerprint"]
            issue = issues.get(fp)
            if issue is None:
                issues[fp] = {
                    "component": row["component"],
                    "error_type": row["error_type"],
                    "first_seen": row["first"].isoformat(),
                    "last_seen": row["last"].isoformat(),
                    "count": int(row["n"]),
                    "open_count": int(row["open"]),
                    "state": "new",
                }
                continue
            was_resolved = issue.get("state") == "resolved"
            issue["last_seen"] = max(issue["last_seen"], row["last"].isoformat())
            issue["count"] = int(issue["count"]) + int(row["n"])
            issue["open_count"] = int(issue.get("open_count", 0)) + int(row["open"])
            if was_resolved:
                issue["state"] = "regressed"
                issue["regressed_at"] = row["first"].isoformat()
        hwm = int(fresh["id"].max())  # type: ignore[arg-type]  # polars types max()/min()/median() as any literal; this column is numeric
    for issue in issues.values():
        last = datetime.fromisoformat(issue["last_seen"])
        first = datetime.fromisoformat(issue["first_seen"])
        if issue["state"] != "resolved" and now - last >= resolve_after:
            issue["state"] = "resolved"
            issue["resolved_at"] = now.isoformat()
        elif (issue["state"] == "new" and now - first >= new_for) or (
            issue["state"] == "regressed" and now - datetime.fromisoformat(issue["regressed_at"]) >= new_for
        ):
            issue["state"] = "ongoing"
    return {"hwm": hwm, "issues": issues}


def apply_recoveries(
    book: dict[str, Any], open_by_fingerprint: dict[str, int], now: datetime
) -> dict[str, Any]:
    """Refresh open counts from the window; an issue whose occurrences are all recovered is resolved."""
    issues = {k: dict(v) for k, v in book.get("issues", {}).items()}
    for fp, issue in issues.items():
        if fp in open_by_fingerprint:
            issue["open_count"] = int(open_by_fingerprint[fp])
            if issue["open_count"] == 0 and issue["state"] != "resolved":
                issue["state"] = "resolved"
                issue["resolved_at"] = now.isoformat()
    return {**book, "issues": issues}


def issues_frame(book: dict[str, Any]) -> pl.DataFrame:
    rows = [
        {
            "fingerprint": fp,
            "component": i["component"],
            "error_type": i["error_type"],
            "first_seen": datetime.fromisoformat(i["first_seen"]),
            "last_seen": datetime.fromisoformat(i["last_seen"]),
            "count": int(i["count"]),
            "open_count": int(i.get("open_count", 0)),
            "state": i["state"],
        }
        for fp, i in book.get("issues", {}).items()
    ]
    if not rows:
        return pl.DataFrame(schema=ISSUE_SCHEMA)
    return pl.DataFrame(rows, schema=ISSUE_SCHEMA).sort(
        ["last_seen", "fingerprint"], descending=[True, False]
    )
