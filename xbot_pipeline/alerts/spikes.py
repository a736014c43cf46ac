"""Error spike rules (pure): a windowed rate against a baseline, and the seed's every-5th occurrence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl


@dataclass(frozen=True)
class Spike:
    component: str
    error_type: str
    count: int
    baseline: float  # expected count in a window of the same length
    rule: str  # "window" | "every_5th"


def window_spikes(
    current: pl.DataFrame, previous_24h: pl.DataFrame, window: timedelta, *, factor: float, min_count: int
) -> list[Spike]:
    """``current``: counts in the last ``window``; ``previous_24h``: counts in the 24 h before it.

    A spike: at least ``min_count`` errors AND at least ``factor`` x the baseline rate for that window.
    """
    if current.is_empty():
        return []
    scale = window.total_seconds() / 86_400
    joined = current.join(
        previous_24h.rename({"count": "prev"}), on=["component", "error_type"], how="left", nulls_equal=True
    ).with_columns(baseline=pl.col("prev").fill_null(0) * scale)
    hits = joined.filter(
        (pl.col("count") >= min_count) & (pl.col("count") >= factor * pl.col("baseline"))
    ).sort(["count", "component", "error_type"], descending=[True, False, False])
    return [
        Spike(r["component"], r["error_type"], int(r["count"]), round(float(r["baseline"]), 3), "window")
        for r in hits.iter_rows(named=True)
    ]


def every_nth(
    counters: dict[str, int], new_counts: dict[str, int], n: int = 5
) -> tuple[dict[str, int], list[str]]:
    """Add ``new_counts`` to the persisted ``counters``; return keys that crossed a multiple of ``n``."""
    out = dict(counters)
    crossed: list[str] = []
    for key, added in sorted(new_counts.items()):
        before = int(out.get(key, 0))
        after = before + int(added)
        out[key] = after
        if after // n > before // n:
            crossed.append(key)
    return out, crossed
