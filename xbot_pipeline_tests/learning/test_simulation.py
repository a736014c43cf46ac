"""The learning result at a small size (10 simulated days, one world): the bandit beats uniform choice and
the original's rule with a margin, and the offline estimate from its own log matches the simulated truth.
The store is the test backend (SQLite, or a fresh Postgres database per run). The full-size numbers
(30 days, 5 worlds) are in docs/LEARNING.md (``scripts/simulate_learning.py --large``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xbot_pipeline.learning.simulation import compare
from xbot_pipeline_tests import dbutil
from xbot_pipeline_tests.conftest import BACKEND


@pytest.fixture
def database_for() -> Iterator[object]:
    if BACKEND != "postgres":
        yield None
        return
    dbutil.require_postgres()
    made: list[str] = []

    def fresh() -> str:
        made.append(dbutil.create_pg_database("xbot_learnsim"))
        return made[-1]

    yield fresh
    for url in made:
        dbutil.drop_pg_database(url)


def test_the_bandit_learns_in_ten_simulated_days(database_for) -> None:
    rows = {r["policy"]: r for r in compare(days=10, seeds=[1], database_for=database_for)}
    bandit, uniform, seed_rule = rows["thompson"], rows["uniform"], rows["seed_rule"]
    for row in rows.values():
        assert row["posts"] >= 55  # ~6 a day went out and were measured at 24 h
    for other in (uniform, seed_rule):
        assert bandit["engagements"] > 1.25 * other["engagements"]
        assert bandit["mean_expected_rate"] > 1.2 * other["mean_expected_rate"]
        assert bandit["regret"] < 0.85 * other["regret"]
    # offline: the uniform content policy's value, estimated from the bandit's log alone
    truth = bandit["ope_uniform_truth"]
    assert abs(bandit["ope_uniform_snips"] - truth) < 0.15 * truth
