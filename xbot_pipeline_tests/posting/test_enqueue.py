"""Enqueue validation (twitter-text weights, empty/control text, threads, reply targets, duplicates)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from xbot_pipeline.content.length import weighted_length
from xbot_pipeline.posting.enqueue import ValidationError, enqueue
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import transition
from xbot_pipeline.store.schema import posts

# twitter-text v3 conformance-style cases (WeightedTweetsCounterTest): text -> weighted length
CONFORMANCE = [
    ("hello", 5),
    ("https://example.com/a/very/long/path/that/goes/on/and/on", 23),
    ("see example.com now", 4 + 23 + 4),
    ("日本語", 6),  # CJK weighs 2
    ("👨‍👩‍👧‍👦", 2),  # a ZWJ family sequence counts 2
    ("👍🏽", 2),  # skin-tone modifier sequence
    ("cafe\u0301", 4),  # NFC: e + combining acute -> é
    ("\u2014\u201c", 2),  # em dash and quote are in the light ranges
    ("x" * 280, 280),
]


@pytest.mark.parametrize(("text", "expected"), CONFORMANCE)
def test_weighted_length_conformance(text, expected):
    assert weighted_length(text) == expected


def count(store) -> int:
    with store.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(posts)).scalar()


@pytest.mark.parametrize(
    ("kind", "parts", "reply_to", "message"),
    [
        ("single", "   \n ", None, "empty or only whitespace"),
        ("single", "", None, "empty"),
        ("single", "bell\x07", None, "control character"),
        ("single", "日" * 141, None, "282 weighted characters"),
        ("single", "https://example.com/" + "x" * 300, None, None),  # a long URL still counts 23: valid
        ("thread", ["only one"], None, "at least 2 parts"),
        ("thread", ["ok", " "], None, "thread part 2 is empty"),
        ("thread", [f"p{i}" for i in range(26)], None, "at most 25 parts"),
        ("reply", "answer", None, "needs --reply-to"),
        ("reply", "answer", "12ab", "not a post id"),
        ("reply", "answer", "123456789012345678901", "not a post id"),
        ("single", "hi", "123", "only a reply"),
        ("poll", "hi", None, "kind must be one of"),
    ],
)
def test_rejections_have_clear_reasons_and_write_nothing(store, kind, parts, reply_to, message):
    ensure_account(store, "a1")
    if message is None:
        enqueue(store, "a1", kind, parts, reply_to=reply_to)
        assert count(store) == 1
        return
    with pytest.raises(ValidationError, match=message):
        enqueue(store, "a1", kind, parts, reply_to=reply_to)
    assert count(store) == 0


def test_reply_ids_are_lenient_on_width(store):
    ensure_account(store, "a1")
    assert enqueue(store, "a1", "reply", "short id", reply_to="42")["reply_to_tweet_id"] == "42"
    snowflake = "1790000000000000001"
    assert enqueue(store, "a1", "reply", "snowflake", reply_to=snowflake)["reply_to_tweet_id"] == snowflake


def test_duplicates_within_seven_days(store, clock):
    ensure_account(store, "a1")
    ensure_account(store, "a2")
    first = enqueue(store, "a1", "single", "Same  text!")
    with pytest.raises(ValidationError, match="already queued or posted"):
        enqueue(store, "a1", "single", "same text")
    enqueue(store, "a2", "single", "same text")  # another account may say it
    transition(store, first["id"], ("queued",), "posted", clock.now(), posted_at=clock.now())
    clock.advance(days=6)
    with pytest.raises(ValidationError, match="already queued or posted"):
        enqueue(store, "a1", "single", "same text")
    clock.advance(days=1, seconds=1)
    enqueue(store, "a1", "single", "same text")
    cancelled = enqueue(store, "a1", "single", "cancelled text")
    transition(store, cancelled["id"], ("queued",), "cancelled", clock.now())
    enqueue(store, "a1", "single", "cancelled text")


def test_unknown_account_and_schedule(store, clock):
    with pytest.raises(ValidationError, match="unknown account"):
        enqueue(store, "nobody", "single", "hi")
    ensure_account(store, "a1")
    row = enqueue(store, "a1", "single", "later", scheduled_at=clock.now() + timedelta(hours=2))
    assert row["scheduled_at"] == clock.now() + timedelta(hours=2)
