"""Text validation: bounded cost on hostile input, twitter-text's invalid characters, properties."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from xbot_pipeline.content.entities import MAX_CHAIN_CHARS
from xbot_pipeline.content.length import MAX_RAW_CHARS, MAX_WEIGHTED_LENGTH, measure
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.enqueue import ValidationError, validate


def check(text: str) -> list[str]:
    return validate("single", text, None, PostingConfig())[0]


def timed_rejection(text: str) -> tuple[float, str]:
    start = time.perf_counter()
    with pytest.raises(ValidationError) as err:
        check(text)
    return time.perf_counter() - start, str(err.value)


# Each took seconds to minutes in twitter-text's parser (quadratic URL regex): "a." * 2500 ~112 s.
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a." * 2500, f"the limit is {MAX_CHAIN_CHARS}"),
        ("a." * 50_000, f"no post of 280 weighted characters has more than {MAX_RAW_CHARS} characters"),
        ("x" * 100_000, "100000 characters"),
        ("日." * 20_000, f"the limit is {MAX_CHAIN_CHARS}"),
        ("a_a.com." * 5000, f"the limit is {MAX_CHAIN_CHARS}"),
        ("@a.com." * 6000, "more than 280 weighted characters"),
        ("1" * 40_000, "more than 280 weighted characters"),
        ("x" * 4_000_000, "4000000 characters"),
    ],
)
def test_hostile_input_is_rejected_fast(text, message):
    elapsed, error = timed_rejection(text)
    assert message in error
    assert elapsed < 0.5, f"{elapsed:.2f} s"


def test_a_full_post_of_dotted_words_is_measured_fast_and_exactly():
    text = "a." * 140  # weight 280, no URL: 0.7 s in twitter-text's parser
    start = time.perf_counter()
    assert check(text) == [text]
    assert time.perf_counter() - start < 0.2
    assert measure(text).length == 280


def test_long_urls_still_count_23():
    url = "https://example.com/" + "p" * 4000
    assert check(f"read {url} now") == [f"read {url} now"]
    assert measure(f"{url} {url}").length == 47


@pytest.mark.parametrize("char", ["\ufffe", "\ufeff", "\uffff"])
def test_characters_twitter_text_refuses_are_refused(char):
    assert not parse_tweet(f"hello{char}world").valid
    with pytest.raises(ValidationError, match=f"character X refuses \\(U\\+{ord(char):04X}\\)"):
        check(f"hello{char}world")


def test_stricter_rules_stay():
    with pytest.raises(ValidationError, match="control character"):
        check("bell\x07")
    with pytest.raises(ValidationError, match="only whitespace"):
        check(" \n\t ")


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=320))
def test_any_accepted_text_is_valid_for_twitter_text(text):
    try:
        cleaned = check(text)
    except ValidationError:
        return
    result = parse_tweet(cleaned[0])
    assert result.valid
    assert result.weightedLength <= MAX_WEIGHTED_LENGTH


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["a.", "com", "日", "😀", " ", "https://x.co/", "\ufeff", "_", "\x00"])).map(
        "".join
    )
)
def test_validation_raises_only_validation_errors(text):
    with contextlib.suppress(ValidationError):
        check(text)
