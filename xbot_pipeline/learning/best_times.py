"""Best posting hours: the bandit's hour arms as a table (mean, 90 % interval, pulls) and a PNG chart.

Shared by ``xbot best-times`` and the ``bandit_posteriors`` asset's metadata, so the terminal and the UI
show the same numbers. The interval is the exact central 90 % credible interval of Beta(alpha, beta)
(the regularized incomplete beta function inverted by bisection: no SciPy needed, no sampling noise).
Hours the bandit never saw get the prior, shown with 0 pulls.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xbot_pipeline.learning.bandit import HOUR_ARMS

LEVEL = 0.90  # central credible interval shown in the table and the chart


@dataclass(frozen=True)
class HourPosterior:
    hour: int  # UTC
    alpha: float
    beta: float
    pulls: int  # rewards observed for this hour itself (neighbour shares not counted)
    n_eff: float  # discounted evidence weight, neighbour shares included

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def interval(self) -> tuple[float, float]:
        tail = (1.0 - LEVEL) / 2
        return beta_quantile(self.alpha, self.beta, tail), beta_quantile(self.alpha, self.beta, 1 - tail)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz), as in Numerical Recipes."""
    tiny, eps = 1e-300, 3e-14
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < eps:
            break
    return h


def beta_cdf(a: float, b: float, x: float) -> float:
    """P(X <= x) for X ~ Beta(a, b): the regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def beta_quantile(a: float, b: float, q: float) -> float:
    """The x with I_x(a, b) = q, by bisection (60 halvings: below 1e-15 of the unit interval)."""
    if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"Beta parameters must be positive and finite, got alpha={a}, beta={b}")
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if beta_cdf(a, b, mid) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def hour_posteriors(
    arms: Sequence[dict[str, Any]], prior: tuple[float, float] = (1.0, 1.0)
) -> list[HourPosterior]:
    """The 24 hour arms of one account (rows as the store keeps them), oldest hour first."""
    by_hour = {str(r["arm"]).removeprefix("hour:").zfill(2): r for r in arms if r.get("family") == "hour"}
    out = []
    for name in HOUR_ARMS:
        row = by_hour.get(name)
        if row is None:
            out.append(HourPosterior(int(name), prior[0], prior[1], 0, 0.0))
            continue
        out.append(
            HourPosterior(
                int(name),
                float(row["alpha"]),
                float(row["beta"]),
                int(row.get("observations") or 0),
                float(row.get("n_eff") or 0.0),
            )
        )
    return out


def best(hours: Sequence[HourPosterior], n: int = 3) -> list[HourPosterior]:
    """The ``n`` hours with evidence (pulls) and the highest posterior mean (ties: the earlier hour).

    Hours never tried sit at the prior mean, which may be above a tried hour's: Thompson sampling keeps
    exploring them, but they are not "best times" to tell an operator."""
    tried = [h for h in hours if h.pulls > 0]
    return sorted(tried, key=lambda h: (-h.mean, h.hour))[:n]


def markdown_table(hours: Sequence[HourPosterior]) -> str:
    """A markdown table for the asset's metadata: one row per hour, the best three in bold."""
    top = {h.hour for h in best(hours)}
    lines = [
        f"| hour (UTC) | posterior mean | {LEVEL:.0%} interval | pulls |",
        "|---|---|---|---|",
    ]
    for h in hours:
        lo, hi = h.interval
        hour = f"**{h.hour:02d}:00**" if h.hour in top else f"{h.hour:02d}:00"
        lines.append(f"| {hour} | {h.mean:.3f} | {lo:.3f} – {hi:.3f} | {h.pulls} |")
    return "\n".join(lines)


def render_png(hours: Sequence[HourPosterior], path: str | Path | None = None, *, title: str = "") -> bytes:
    """A bar chart of the posterior means with their 90 % intervals; written to ``path`` when given.

    Returns the PNG bytes (the asset embeds them in its markdown metadata)."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.pyplot as plt

    xs = [h.hour for h in hours]
    means = [h.mean for h in hours]
    intervals = [h.interval for h in hours]
    below = [m - lo for m, (lo, _hi) in zip(means, intervals, strict=True)]
    above = [hi - m for m, (_lo, hi) in zip(means, intervals, strict=True)]
    top = {h.hour for h in best(hours)}
    colours = ["#2b7bba" if x in top else "#9bbbd6" for x in xs]
    fig, ax = plt.subplots(figsize=(8, 3), dpi=80)
    try:
        ax.bar(xs, means, color=colours, yerr=[below, above], capsize=2, ecolor="#555555", linewidth=0)
        for x, h in zip(xs, hours, strict=True):
            ax.annotate(
                str(h.pulls), (x, 0), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=7
            )
        ax.set_xticks(xs)
        ax.set_xticklabels([f"{x:02d}" for x in xs], fontsize=7)
        ax.set_xlabel("hour (UTC); number in the bar = pulls")
        ax.set_ylabel("posterior mean reward")
        ax.set_ylim(0, 1)
        ax.set_title(title or f"Best posting hours: posterior mean and {LEVEL:.0%} interval", fontsize=10)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    data = buffer.getvalue()
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return data


def png_name(account: str) -> str:
    """A file name for an account's chart: letters, digits, '-' and '_' kept, anything else '_'."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in account) + ".png"


def markdown_image(png: bytes, alt: str = "best hours") -> str:
    """The PNG as a markdown image with a base64 data URI (the Dagster UI renders it inline)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
