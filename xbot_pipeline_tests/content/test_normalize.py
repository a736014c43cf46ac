"""The one post-text matcher ("is this timeline post ours") and the hash key it builds on."""

from __future__ import annotations

import pytest

from xbot_pipeline.content.normalize import content_hash, normalize_text, post_text_key, same_post_text


@pytest.mark.parametrize(
    ("ours", "seen"),
    [
        ("Sleep  comes\nfirst", "sleep comes first"),  # whitespace folded, case-folded
        ("Caf\u00e9 time", "Cafe\u0301 time"),  # NFC and NFD spell the same text
        ("tabs\tand\u00a0spaces", "tabs and spaces"),
        ("Read https://example.com/some/long/path?x=1 now", "Read https://t.co/AbC123xyz now"),  # t.co
        (
            "Read https://example.com/some/long/path?x=1 now",
            "Read example.com/some/long/pa\u2026 now",
        ),  # shown
        ("the end https://example.com/a", "the end example.com/a\u2026"),
        ("Great question!", "great question"),  # end punctuation off (as the hash key does)
        ("1/ sleep first", "1/ sleep first"),
    ],
)
def test_the_same_post_however_x_shows_it(ours: str, seen: str) -> None:
    assert same_post_text(ours, seen)


@pytest.mark.parametrize(
    ("ours", "seen"),
    [
        ("1/ sleep first", "2/ sleep first"),
        ("Read https://example.com/a now", "Read https://example.com/a later"),
        ("version 2.5 is out", "version 2.6 is out"),
        ("mail me@example.com", "mail you@example.com"),
    ],
)
def test_different_posts_stay_different(ours: str, seen: str) -> None:
    assert not same_post_text(ours, seen)


def test_the_matcher_extends_the_hash_key() -> None:
    """Whatever the hash key calls equal, the matcher does too; hashes keep their old key."""
    for text in ("A  b", "Caf\u00e9", "see https://x.com/a!", "plain"):
        assert post_text_key(text) == post_text_key(normalize_text(text))
    assert normalize_text("see example.com/a") == "see example.com/a"  # the hash key is unchanged
    assert content_hash("Hello  world") == content_hash("hello world")
