"""The audience model: material, learnable differences; monotone, saturating, deterministic metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from xbot_pipeline.sandbox.audience import arrival_fraction, engagement_rate, metrics_at

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hour: int) -> datetime:
    return DAY.replace(hour=hour)


def test_hour_of_day_has_peaks_and_a_night_trough() -> None:
    text = "A plain note about habits."
    rates = {h: engagement_rate(text, at(h)) for h in range(24)}
    best, worst = max(rates.values()), min(rates.values())
    assert best / worst >= 2.5
    assert max(rates, key=rates.get) in (18, 19, 20)
    assert min(rates, key=rates.get) in (1, 2, 3, 4)
    assert rates[8] > rates[12] > rates[3]  # a morning peak too


def test_content_properties_move_the_rate_materially() -> None:
    worst = "Amazing!!! #a #b #c #d"
    best = "I tracked my sleep for 90 nights: what changed when I cut caffeine after 2pm? 🧵 " + "x" * 40
    assert engagement_rate(best, at(19)) / engagement_rate(worst, at(19)) >= 3
    base = "A short thought on sleep and focus during the working week, nothing more to it really."
    assert engagement_rate(base + "?", at(12)) > engagement_rate(base, at(12))
    assert engagement_rate(base + " #health", at(12)) < engagement_rate(base, at(12))
    assert engagement_rate(base.replace("sleep", "lunch"), at(12)) < engagement_rate(base, at(12))


def test_seed_changes_the_world_a_little_but_keeps_it_deterministic() -> None:
    text = "Does protein timing matter? 3 studies say no."
    assert engagement_rate(text, at(9), seed=7) == engagement_rate(text, at(9), seed=7)
    assert engagement_rate(text, at(9), seed=7) != engagement_rate(text, at(9), seed=8)
    ratio = engagement_rate(text, at(9), seed=7) / engagement_rate(text, at(9), seed=0)
    assert 0.8 < ratio < 1.25


def test_metrics_grow_monotonically_and_saturate() -> None:
    posted = at(19)
    text = "Why do I sleep better after a 20 minute walk?"
    series = [
        metrics_at(text, posted, posted + timedelta(minutes=m), seed=1, post_key="p1")
        for m in range(0, 60 * 72, 7)
    ]
    for key in ("impressions", "likes", "reposts", "replies", "quotes", "bookmarks"):
        values = [s[key] for s in series]
        assert values == sorted(values), key
    assert arrival_fraction(25) / arrival_fraction(24 * 60) > 0.45
    assert arrival_fraction(25) / arrival_fraction(24 * 60) < 0.55
    assert arrival_fraction(72 * 60) - arrival_fraction(48 * 60) < 0.01
    final = metrics_at(text, posted, posted + timedelta(days=3), seed=1, post_key="p1")
    assert final == metrics_at(text, posted, posted + timedelta(days=3), seed=1, post_key="p1")
    assert final != metrics_at(text, posted, posted + timedelta(days=3), seed=1, post_key="p2")
    assert final["impressions"] > 500 and final["likes"] > 0


def test_realised_rates_average_to_the_expected_rate() -> None:
    posted = at(8)
    text = "My 5 rules for stress?"
    later = posted + timedelta(days=3)
    samples = [metrics_at(text, posted, later, seed=3, post_key=str(i), followers=5000) for i in range(400)]
    realised = sum(s["likes"] + s["reposts"] + s["replies"] for s in samples) / sum(
        s["impressions"] for s in samples
    )
    expected = engagement_rate(text, posted, seed=3)
    assert abs(realised / expected - 1) < 0.15
