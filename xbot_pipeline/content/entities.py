"""twitter-text's URL and emoji entities, found in linear time.

``twitter_text.parse_tweet`` finds URLs with one large regex whose failed attempts rescan the rest of a
run of domain-like characters: ``"a." * 2500`` takes minutes, and even an ordinary 280-character text
costs ~10 ms (its TLD and emoji alternations are tried one alternative at a time). This module gives the
same entities, built from the library's own patterns, without that cost:

- URLs. A match needs a domain ``label. ... label.TLD`` and the regex, from a start, keeps the longest
  chain of valid labels that ends in a TLD. So we find every ``.TLD`` once (one scan with a prefix-tree
  regex), compute each chain of valid labels once (a possessive regex), and try only the starts the
  library would try first that can succeed. Protocol, port, path and query are then matched with the
  library's patterns from the domain's end, and each match goes through the library's own post-processing
  (``is_valid_url``, ASCII domains for protocol-less URLs, t.co slugs).
- Emoji. The library's regex is "longest listed sequence at the leftmost position"; a set lookup per
  candidate position gives the same result.

``xbot_pipeline_tests/content/test_length_equivalence.py`` checks the results against the library.
Both finders are lazy: ``next_*`` takes a ``horizon`` past which the caller does not need entities, so a
text that is over the limit is rejected without scanning all of it.
"""

from __future__ import annotations

import re
from re import _casefix  # type: ignore[attr-defined]  # CPython's private case-fold table: no stubs

from twitter_text.extract_urls import is_valid_url, max_tco_slug_length
from twitter_text.regexp.emoji import emoji_list
from twitter_text.regexp.invalid_url_without_protocol_preceding_chars import (
    invalid_url_without_protocol_preceding_chars,
)
from twitter_text.regexp.valid_ascii_domain import valid_ascii_domain
from twitter_text.regexp.valid_cctld import valid_cctld
from twitter_text.regexp.valid_domain_chars import valid_domain_chars
from twitter_text.regexp.valid_gtld import valid_gtld
from twitter_text.regexp.valid_port_number import valid_port_number
from twitter_text.regexp.valid_punycode import valid_punycode
from twitter_text.regexp.valid_tco_url import valid_tco_url
from twitter_text.regexp.valid_url_path import valid_url_path
from twitter_text.regexp.valid_url_preceding_chars import valid_url_preceding_chars
from twitter_text.regexp.valid_url_query_chars import valid_url_query_chars
from twitter_text.regexp.valid_url_query_ending_chars import valid_url_query_ending_chars

from xbot_pipeline.content.text_errors import TextTooComplex

__all__ = ["EMOJI_MAX_LEN", "EmojiFinder", "TextTooComplex", "UrlFinder"]

_I = re.IGNORECASE  # the library compiles its URL regex case-insensitively; so do we
_C = valid_domain_chars.pattern  # one domain character (not punctuation, space or a direction mark)
_LABEL_CH = f"(?:{_C}|[_\\-])"
_PRE = valid_url_preceding_chars.pattern.removesuffix("|^)") + ")"

# The label characters (a domain character, "_" or "-") ending at a position, read on the reversed text.
_REV_RUN = re.compile(f"{_LABEL_CH}*+")
# The longest chain of valid labels (each: starts and ends with a domain character, then a dot).
_CHAIN = re.compile(f"(?:{_C}(?:[_\\-]*+{_C})*+\\.)*+")
_IS_C = re.compile(_C)
# A position the library may start a URL after: a preceding character followed by a domain character.
_START = re.compile(f"{_PRE}(?={_C})", _I)
_PRE_ONE = re.compile(_PRE, _I)
_PROTOCOL = re.compile(r"https?://", _I)
_TLD = re.compile(f"(?:{valid_gtld.pattern}|{valid_cctld.pattern}|{valid_punycode.pattern})", _I)
_TAIL = re.compile(
    f"(?::({valid_port_number.pattern}))?"
    f"(\\/{valid_url_path.pattern}*)?"
    f"(\\?{valid_url_query_chars.pattern}*{valid_url_query_ending_chars.pattern})?",
    _I,
)
# A run of dot-separated labels longer than this is refused when measuring against a limit: no URL is
# longer, so without a TLD the run is plain text far over 280, and with TLDs it could fit only as several
# URLs glued together, which no real post has (we refuse that: stricter than X, on purpose).
MAX_CHAIN_CHARS = 4096 - len("http://")
# A valid URL's first label has at most 63 characters (IDNA), plus "https://" and the preceding one.
_MAX_LABEL_REACH = 64 + 9


def _always(match: re.Match[str] | None) -> re.Match[str]:
    """The match of a pattern that matches the empty string too, so it never fails."""
    if match is None:  # pragma: no cover - the patterns above accept the empty string
        raise AssertionError("a pattern that accepts the empty string did not match")
    return match


def _alternatives(pattern: str) -> list[str]:
    return pattern[len("(?:(?:") : pattern.index(")(?=")].split("|")


# re.IGNORECASE, made explicit: each character maps to one representative of the characters the
# library's case-insensitive regex treats as equal (simple lowercase, plus ``re``'s extra equivalences
# such as "ſ" = "s" and "ϐ" = "β"). U+0130 is the one character whose ``str.lower`` is two characters.
_CANON = {k: min([chr(k), *map(chr, v)]) for k, v in _casefix._EXTRA_CASES.items()}


def _fold(text: str) -> str:
    return text.replace("\u0130", "i").lower().translate(_CANON)


def _trie(words: list[str]) -> str:
    """A case-sensitive regex matching exactly ``words`` (a prefix tree: a failing position fails fast)."""
    tree: dict = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in node.items() if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree)


_TLD_WORDS = [_fold(w) for w in _alternatives(valid_gtld.pattern) + _alternatives(valid_cctld.pattern)]
# Whether the library's TLD pattern matches at a position, on the folded text (existence only).
_TLD_FOLDED = re.compile(f"(?:{_trie(_TLD_WORDS)})(?=[^0-9a-z@+-]|$)|xn--[\\-0-9a-z]")

_ASCII_TLDS = frozenset(w for w in _TLD_WORDS if w.isascii())
_ASCII_WORD = re.compile("[0-9a-z]+")
_ASCII_WORD_AFTER_DOT = re.compile("\\.([0-9a-z]+)(?![0-9a-z@+-])")
# Dots the set lookup cannot settle: followed by non-ASCII (after ASCII letters too) or by "xn--".
_OTHER_AFTER_DOT = re.compile("\\.(?:[0-9a-z]*[^\\x00-\\x7f]|xn--)")


def _is_tld_folded(folded: str) -> bool:
    """``_TLD_FOLDED.match(folded)``, with a set lookup for the usual all-ASCII case (the regex is slow)."""
    word = _ASCII_WORD.match(folded)
    if word is not None:
        after = folded[word.end() : word.end() + 1]
        if after.isascii():
            return ((after == "" or after not in "@+-") and word.group() in _ASCII_TLDS) or (
                folded.startswith("xn--")
                and folded[4:5] != ""
                and folded[4] in "-0123456789abcdefghijklmnopqrstuvwxyz"
            )
    return _TLD_FOLDED.match(folded) is not None


def _tld_dots(text: str, b: int, end: int) -> list[int]:
    """The dots in ``text[b:end]`` that a TLD follows, in order, read in one pass over the span."""
    # The longest TLD has 18 characters and the lookahead reads one more: 20 more are enough, and at
    # the text's end the slice ends where the text does, so "$" means the same.
    folded = _fold(text[b : end + 20])
    span = end - b
    found = {
        m.start() for m in _ASCII_WORD_AFTER_DOT.finditer(folded, 0, span + 20) if m.group(1) in _ASCII_TLDS
    }
    for m in _OTHER_AFTER_DOT.finditer(folded):
        if _is_tld_folded(folded[m.start() + 1 : m.start() + 21]):
            found.add(m.start())
    return sorted(b + q for q in found if q < span)


class UrlFinder:
    """``twitter_text.extract_urls_with_indices``, lazily and in linear time.

    ``capped``: refuse (``TextTooComplex``) a chain of labels longer than ``MAX_CHAIN_CHARS`` instead
    of reading all of it; set when measuring against a limit.
    """

    def __init__(self, text: str, capped: bool = False) -> None:
        self.text = text
        self.capped = capped
        self.pos = 0  # where the library's ``finditer`` would search next
        self.pending: list[dict] = []
        self.next_dot = text.find(".")
        self._rev: str | None = None
        # The chain of labels last read: start, end, last good TLD dot, every dot followed by a TLD.
        self.chain: tuple[int, int, int, frozenset[int]] = (-1, -1, -1, frozenset())

    def next_entity(self, start: int, horizon: float) -> dict | None:
        """The first URL entity starting at or after ``start``, or None if there is none before ``horizon``.

        None before the horizon can also mean a URL whose first label starts before the horizon and is
        longer than 63 characters: the library refuses it (``is_valid_url``), so reading its characters
        as plain text is what the library does too.
        """
        while True:
            while self.pending and self.pending[0]["indices"][0] < start:
                self.pending.pop(0)
            if self.pending:
                return self.pending[0]
            if not self._next_match(horizon):
                return None

    def _chain_good_dot(self, a: int, b: int) -> int:
        """The last dot after ``b`` that ends a name label and precedes a TLD, reachable through valid
        labels from ``b + 1`` (the library's greedy choice), or -1."""
        text = self.text
        start, end, good, _ = self.chain
        if not start <= b + 1 < end:
            end = _always(_CHAIN.match(text, b + 1)).end()
            if self.capped and end - a > MAX_CHAIN_CHARS:
                # Over the limit either way: without a TLD it is all plain text (one unit a character).
                raise TextTooComplex(
                    f"has {end - a} characters of dot-separated labels without a space; "
                    f"the limit is {MAX_CHAIN_CHARS} (no link is longer)"
                )
            tld_dots = _tld_dots(text, b, end)
            good = -1
            for q in reversed(tld_dots):
                if q > b and text.find("_", text.rfind(".", 0, q) + 1, q) < 0:
                    good = q
                    break
            self.chain = (b + 1, end, good, frozenset(tld_dots))
        return good if good > b else -1

    def _tld_after(self, b: int) -> bool:
        """Whether a TLD starts right after the dot at ``b``."""
        start, end, _, dots = self.chain
        return b in dots if start - 1 <= b < end else _is_tld_folded(_fold(self.text[b + 1 : b + 21]))

    def _next_match(self, horizon: float) -> bool:
        """Find the library's next regex match from ``self.pos``; queue its entities. False when none."""
        text = self.text
        while True:
            b = self.next_dot
            if b < 0 or b - _MAX_LABEL_REACH > horizon:
                return False
            self.next_dot = text.find(".", b + 1)
            if b < self.pos or b == 0 or not _IS_C.match(text, b - 1):
                continue
            if self._rev is None:
                self._rev = text[::-1]
            a = len(text) - _always(_REV_RUN.match(self._rev, len(text) - b)).end()
            good = self._chain_good_dot(a, b)
            first_d = a
            if good >= 0:
                tld_at = good + 1
            elif self._tld_after(b):
                tld_at = b + 1
                first_d = max(a, text.rfind("_", a, b) + 1)
            else:
                continue
            found = self._start_in_run(a, b, first_d)
            if found is not None and self._emit(*found, tld_at):
                return True

    def _start_in_run(self, a: int, b: int, first_d: int) -> tuple[int, int, int] | None:
        """The leftmost (p, u, d) the library tries for a domain starting in [first_d, b).

        p is the preceding character's position (the regex's match start), u the URL's start, d the
        domain's. At p = 0 the library tries "a preceding character" before "the start of the text".
        """
        text, pos = self.text, self.pos
        if first_d == a and _IS_C.match(text, a):
            for length in (8, 7):
                u = a - length
                if u >= 0 and _PROTOCOL.fullmatch(text, u, a):
                    if u >= 1 and u - 1 >= pos and _PRE_ONE.match(text, u - 1):
                        return u - 1, u, a
                    if u == 0 and pos == 0:
                        return 0, 0, a
                    break
        if pos == 0 and first_d == 0 and _IS_C.match(text, 0):
            if _PRE_ONE.match(text, 0) and b > 1 and _IS_C.match(text, 1):
                return 0, 1, 1
            return 0, 0, 0
        m = _START.search(text, max(first_d - 1, pos, 0), b)
        return (m.start(), m.start() + 1, m.start() + 1) if m is not None else None

    def _emit(self, p: int, u: int, d: int, tld_at: int) -> bool:
        text = self.text
        tld = _TLD.match(text, tld_at)
        if tld is None:  # cannot happen if _fold is right; never report a URL the library would not
            return False
        tail = _always(_TAIL.match(text, tld.end()))
        end = tail.end()
        self.pos = end
        before, url = text[p:u], text[u:end]
        protocol = text[u:d] or None
        domain, path = text[d : tld.end()], tail.group(2)
        self.pending.extend(_entities(before, url, protocol, domain, path, end))
        return True


def _entities(before: str, url: str, protocol: str | None, domain: str, path: str | None, end: int) -> list:
    """The library's post-processing of one regex match (``extract_urls_with_indices``' loop body)."""
    start_position = end - len(url)
    if not is_valid_url(url, protocol or "https://", domain):
        return []
    urls: list[dict] = []
    if protocol is None:
        if invalid_url_without_protocol_preceding_chars.match(before):
            return []
        last_url = None
        for ascii_domain_match in valid_ascii_domain.finditer(domain):
            last_url = {
                "url": ascii_domain_match.group(0),
                "indices": [
                    start_position + ascii_domain_match.start(),
                    start_position + ascii_domain_match.end(),
                ],
            }
            urls.append(last_url)
        if last_url is None:
            return []
        if path:
            last_url["url"] = url.replace(domain, last_url["url"])
            last_url["indices"][1] = end
        return urls
    tco = valid_tco_url.search(url)
    if tco:
        slug = tco.group(1)
        if slug and len(slug) > max_tco_slug_length:
            return []
        url = tco.group(0)
        end = start_position + len(url)
    return [{"url": url, "indices": [start_position, end]}]


def _emoji_strings() -> set[str]:
    return {"".join(chr(int(h, 16)) for h in e.codepoint.split()) for e in emoji_list}


EMOJI = frozenset(_emoji_strings())
EMOJI_MAX_LEN = max(len(e) for e in EMOJI)


def _char_class(chars: set[str]) -> str:
    """A character class of ``chars`` as ranges (a long list of astral code points makes ``re`` slow)."""
    points = sorted(ord(c) for c in chars)
    ranges: list[list[int]] = []
    for cp in points:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "[" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges) + "]"


_EMOJI_FIRST = re.compile(_char_class({e[0] for e in EMOJI}))


_EMOJI_LENGTHS: dict[str, tuple[int, ...]] = {}
for _e in EMOJI:
    _EMOJI_LENGTHS[_e[0]] = tuple(sorted({*_EMOJI_LENGTHS.get(_e[0], ()), len(_e)}, reverse=True))


class EmojiFinder:
    """``twitter_text.extract_emojis_with_indices``, lazily (leftmost, longest listed sequence)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.found: tuple[int, int] | None = None

    def next_entity(self, start: int, horizon: float) -> tuple[int, int] | None:
        """(start, length) of the first emoji at or after ``start``; None if none before ``horizon``."""
        text = self.text
        while True:
            if self.found is not None:
                if self.found[0] >= start:
                    return self.found
                self.found = None
            end = min(len(text), int(horizon))
            m = _EMOJI_FIRST.search(text, self.pos, end)
            if m is None:
                self.pos = max(self.pos, end)
                return None
            i = self.pos = m.start()
            for n in _EMOJI_LENGTHS.get(text[i], ()):
                if text[i : i + n] in EMOJI:
                    self.found = (i, n)
                    self.pos = i + n
                    break
            else:
                self.pos = i + 1
