"""Each quality gate refuses what it should, with its reason; the planner records every refusal."""

from __future__ import annotations

import random

import sqlalchemy as sa

from xbot_pipeline.content.gates import GateConfig, check_draft, draft_normalized, shingles, similarity
from xbot_pipeline.content.generators import Draft
from xbot_pipeline.learning.config import LearningConfig
from xbot_pipeline.learning.planner import planning_pass
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.learning import rejections
from xbot_pipeline.store.schema import system_events

BASE = "A fixed wake time does more for sleep quality than a fixed bedtime, and it costs nothing to try."


def single(text: str) -> Draft:
    return Draft("t", "single", (text,))


def recent_of(*texts: str) -> list[tuple[int, str]]:
    return [(i + 1, draft_normalized(single(t))) for i, t in enumerate(texts)]


def test_length_gate_counts_weighted_characters() -> None:
    assert check_draft(single("a" * 280), []).passed
    verdict = check_draft(single("a" * 281), [])
    assert (verdict.gate, verdict.reason) == (
        "length",
        "the text is 281 weighted characters; the limit is 280",
    )
    cjk = check_draft(single("睡" * 141), [])  # CJK counts 2
    assert cjk.gate == "length" and "282 weighted" in cjk.reason
    thread = Draft("t", "thread", ("a good first part 🧵", "2/2 " + "b" * 300))
    assert check_draft(thread, []).reason.startswith("thread part 2 is 304 weighted characters")


def test_near_duplicate_gate_catches_rewordings_not_template_mates() -> None:
    recent = recent_of(BASE)
    for text in (
        BASE.upper(),  # normalization
        BASE + " That is it.",  # a tail added
        "Honestly: " + BASE,  # a head added
    ):
        verdict = check_draft(single(text), recent)
        assert verdict.gate == "near_duplicate" and verdict.similar_post_id == 1, text
        assert "similar to post 1" in verdict.reason and "30 days" in verdict.reason
    other = "A fixed protein target at breakfast does more for muscle than any supplement stack you can buy."
    assert check_draft(single(other), recent).passed  # shares words, not content
    assert similarity(shingles("a b c d"), shingles("a b c d")) == 1.0
    strict = GateConfig(similarity_threshold=0.95)
    assert check_draft(single(BASE + " That is it."), recent, strict).passed  # the threshold is a knob


def test_thread_part_repeating_a_recent_part_is_refused() -> None:
    old = Draft(
        "t", "thread", ("Sleep in four numbers 🧵", "2/2 That is the whole story: guard your wake time.")
    )
    new = Draft(
        "t",
        "thread",
        ("Stress in four lines, none of them new 🧵", "2/2 That is the whole story: guard your wake time."),
    )
    verdict = check_draft(new, [(7, draft_normalized(old))])
    assert verdict.gate == "near_duplicate" and "word for word" in verdict.reason


def test_banned_phrases_are_refused_whatever_the_case() -> None:
    verdict = check_draft(single("This MIRACLE cure fixes your sleep overnight."), [])
    assert (verdict.gate, verdict.reason) == ("banned_phrase", "contains the banned phrase 'miracle cure'")
    custom = GateConfig(banned_phrases=("melatonin",))
    assert (
        check_draft(single("Melatonin is a timing signal, not a sleeping pill."), [], custom).gate
        == "banned_phrase"
    )


def test_thread_shape_gate() -> None:
    cases = {
        ("only one part 🧵",): "a thread needs 2-8 parts, got 1",
        tuple(
            f"{i}/9 part number {i} of this thread" for i in range(1, 10)
        ): "a thread needs 2-8 parts, got 9",
        ("A real opening line 🧵", "  "): "a part is empty",
        ("A real opening line 🧵", "2/2 short"): "thread part 2 is too short to stand alone",
        (
            "A real opening line 🧵",
            "2/3 the same body again",
            "3/3 the same body again",
        ): "a thread repeats one of its parts",
    }
    for parts, reason in cases.items():
        verdict = check_draft(Draft("t", "thread", parts), [])
        assert (verdict.gate, verdict.reason) == ("thread_shape", reason), parts
    assert check_draft(Draft("t", "single", ("one", "two")), []).gate == "thread_shape"


class BannedWriter:
    """A generator that only writes what the gates must refuse."""

    name = "spammer"

    def generate(self, rng: random.Random, *, kind: str | None = None) -> Draft:
        return Draft(self.name, "single", (f"Doctors hate this sleep trick number {rng.randint(1, 10**6)}.",))


def test_planner_records_every_rejection_with_its_reason(store, clock, tracker) -> None:
    ensure_account(store, "main")
    config = LearningConfig(posts_per_day=2, max_drafts=3)
    report = planning_pass(store, tracker, {"spammer": BannedWriter()}, config=config, rng=random.Random(1))
    assert report.queued == 0 and report.rejections == {"banned_phrase": 3}
    rows = rejections(store, "main")
    assert len(rows) == 3 and {r["gate"] for r in rows} == {"banned_phrase"}
    assert all(
        r["reason"] == "contains the banned phrase 'doctors hate'" and r["generator"] == "spammer"
        for r in rows
    )
    with store.connect() as conn:
        events = conn.execute(
            sa.select(system_events.c.event_type, system_events.c.event_data).where(
                system_events.c.event_type.in_(("content_rejected", "planning_slot_unfilled"))
            )
        ).all()
    kinds = [e[0] for e in events]
    assert kinds.count("content_rejected") == 3 and "planning_slot_unfilled" in kinds
    assert all(e[1]["gate"] == "banned_phrase" for e in events if e[0] == "content_rejected")
