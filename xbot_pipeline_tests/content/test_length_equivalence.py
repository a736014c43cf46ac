"""Our linear weighted length equals twitter-text's ``parse_tweet`` (the reference), text for text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from xbot_pipeline.content.length import measure, weighted_length

# Pieces that exercise every branch of URL and emoji extraction: TLDs (ASCII, non-ASCII, prefixes of
# each other, punycode), protocols in both cases, t.co, labels with "_" and "-", characters equal to
# ASCII letters under re.IGNORECASE (ſ, K), direction marks, keycaps, ZWJ and skin-tone sequences.
PIECES = [
    "a", "b", "x", "co", "com", "jp", "org", "xn--", "xn--p1ai", "https://", "http://", "HTTPS://",
    ".", "..", "-", "_", "/", "?", "=", "#", "@", "$", ":", "8080", " ", "\n", "\r\n", "日", "本", "中国",
    "рф", "РФ", "😀", "👍🏽", "1", "\ufe0f", "\u20e3", "(", ")", "t.co/", "!", ",", "ſ", "K", "\u200e",
    "é", "e\u0301", "삼성", "嘉里大酒店", "嘉里", "%", "~", "'", "&", "ΕΛ", "ελ", "\u0130", "ı", "👨‍👩‍👧",
]  # fmt: skip

texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=16).map("".join)


@settings(max_examples=800, deadline=None)
@given(texts)
def test_weighted_length_equals_twitter_text(text):
    expected = parse_tweet(text).weightedLength
    assert weighted_length(text) == expected
    limited = measure(text, 20)
    assert limited.length == expected if limited.exact else expected > 20 and limited.length > 20


# Cases the fuzzing found while building the finder (each once disagreed with the reference).
@pytest.mark.parametrize(
    "text",
    [
        "1coHTTPS://!_t.co/$t.co/b삼성K",
        "️\nx_嘉里大酒店t.co/:&/рф",
        "ſ️8080рфhttps://http://t.co/ (РФ",
        "http://t.co/t.co//嘉里大酒店#😀/日b@#😀=",
        ")中国HTTPS://t.co/xn--p1ai",
        "@삼성jp😀https://8080aco삼성t.co/8080嘉里РФ/",
        "a.com.a.a.a.a b_c.com x.co_y.org 日本.jp",
        "see example.com now, https://t.co/" + "a" * 41 + " and http://a.b.c.d.com:80/p?q=1",
    ],
)
def test_known_tricky_texts(text):
    assert weighted_length(text) == parse_tweet(text).weightedLength


def test_the_emoji_bound_matches_the_library():
    """``length.EMOJI_MAX_LEN`` is a constant (so importing it stays cheap); it must equal the library's."""
    from xbot_pipeline.content import entities, length

    assert length.EMOJI_MAX_LEN == entities.EMOJI_MAX_LEN


def test_the_cli_does_not_compile_twitter_text_at_start():
    """Importing the CLI and the settings must not pay for twitter-text's patterns (about a second each
    process); only measuring a text does."""
    import subprocess
    import sys

    code = (
        "import sys, xbot_pipeline.cli, xbot_pipeline.definitions; "
        "print('twitter_text' in sys.modules, 'xbot_pipeline.content.entities' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr[-2000:]
