"""The persona generators: valid, varied posts for every persona, mapped to the audience model."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from xbot_pipeline.content.gates import GateConfig, check_banned, check_draft, check_length, check_shape
from xbot_pipeline.content.generators import template_roster
from xbot_pipeline.content.length import MAX_WEIGHTED_LENGTH, weighted_length
from xbot_pipeline.content.personas import PERSONAS
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.enqueue import validate
from xbot_pipeline.sandbox.audience import engagement_rate

ROSTER = template_roster()


def test_the_roster_has_at_least_eight_distinct_personas() -> None:
    assert len(ROSTER) >= 8 and len({p.voice for p in PERSONAS}) == len(PERSONAS)


@pytest.mark.parametrize("name", sorted(ROSTER))
def test_every_persona_writes_valid_varied_posts(name: str) -> None:
    gen, rng, config = ROSTER[name], random.Random(11), GateConfig()
    drafts = [gen.generate(rng) for _ in range(60)]
    assert all(d.generator == name and d.kind in ("single", "thread") for d in drafts)
    assert all(check_shape(d, config).passed and check_banned(d, config).passed for d in drafts)
    fitting = [d for d in drafts if check_length(d, config).passed]
    assert len(fitting) >= 0.8 * len(drafts)  # the length gate exists for the rest
    for d in fitting:  # what passes the gates is what enqueue accepts
        validate(d.kind, list(d.parts), None, PostingConfig())
        assert all(0 < weighted_length(p) <= MAX_WEIGHTED_LENGTH for p in d.parts)
        assert "{" not in d.text and "}" not in d.text and ".." not in d.text
    assert len({d.parts for d in drafts}) >= 25  # varied
    assert all(check_draft(d, []).passed for d in fitting)


def test_same_seed_same_drafts_and_threads_on_request() -> None:
    for name, gen in ROSTER.items():
        a = [gen.generate(random.Random(5)).parts for _ in range(3)]
        b = [gen.generate(random.Random(5)).parts for _ in range(3)]
        assert a == b, name
    for persona in PERSONAS:
        draft = ROSTER[persona.name].generate(random.Random(1), kind="thread")
        if persona.thread_hooks:
            assert draft.kind == "thread" and 3 <= len(draft.parts) <= 5 and "🧵" in draft.text
            assert all(p.startswith(f"{i + 1}/{len(draft.parts)} ") for i, p in enumerate(draft.parts) if i)
        else:
            assert draft.kind == "single"
        assert ROSTER[persona.name].generate(random.Random(1), kind="single").kind == "single"


def test_personas_differ_in_expected_engagement_under_the_audience_model() -> None:
    at = datetime(2026, 1, 5, 19, 0, tzinfo=UTC)
    means = {}
    for name, gen in ROSTER.items():
        rng = random.Random(3)
        drafts = [gen.generate(rng) for _ in range(120)]
        rates = [engagement_rate(d.text, at, is_thread=d.kind == "thread") for d in drafts]
        means[name] = sum(rates) / len(rates)
    ranked = sorted(means, key=means.get, reverse=True)
    assert means[ranked[0]] > 2.5 * means[ranked[-1]]
    assert ranked[0] == "storyteller" and ranked[-1] == "hype_merchant"
