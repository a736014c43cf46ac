"""The import's plain parts without a store: cells, row keys, line numbers, the rules of one row."""

from __future__ import annotations

import io
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xbot_pipeline.posting import bulk
from xbot_pipeline.posting.bulk import (
    ImportFileError,
    Row,
    check_row,
    escape_cell,
    read_rows,
    unescape_cell,
)
from xbot_pipeline.posting.config import PostingConfig

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@given(st.text(max_size=20))
def test_escaped_cells_never_start_a_formula_and_always_come_back(value):
    escaped = escape_cell(value)
    assert escaped[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert unescape_cell(escaped) == value


def _rows(data: bytes, fmt: str = "csv") -> tuple[list, list[str]]:
    ignored: list[str] = []
    return list(read_rows(io.BytesIO(data), fmt, ignored)), ignored


def _check(fields: dict) -> Row:
    row = Row(2)
    check_row(row, fields, default_account="main", now=NOW, config=PostingConfig())
    return row


def test_csv_line_numbers_follow_the_file_across_quoted_newlines_crlf_and_blank_lines():
    data = (
        b"\xef\xbb\xbfText,Reply-To,Scheduled At,Colour\r\n"
        b'"first\r\nspans two lines",,,red\r\n'
        b"\r\n"
        b"second,123,,blue\r\n"
    )
    rows, ignored = _rows(data)
    assert [line for line, _ in rows] == [2, 5]
    assert rows[0][1] == {"text": "first\r\nspans two lines", "reply_to": "", "when": ""}
    assert rows[1][1]["reply_to"] == "123" and ignored == ["colour"]


def test_the_same_post_written_two_ways_has_one_key():
    a = _check({"text": "caf\u00e9", "when": "2026-12-01T11:00:00+01:00"})
    b = _check(
        {"text": unicodedata.normalize("NFD", "caf\u00e9"), "when": "2026-12-01T10:00:00Z", "account": ""}
    )
    assert a.outcome == b.outcome == "accepted"
    assert a.key == b.key and len(a.key) == 64
    c = _check({"text": "caf\u00e9", "when": "2026-12-01T10:00:01Z"})
    assert c.key != a.key
    assert _check({"text": "x", "key": "crm-1"}).key == "crm-1"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"text": "x", "when": "2026-12-01T10:00:00"}, "no UTC offset"),
        ({"text": "x", "when": "2026-12-01"}, "no UTC offset"),
        ({"text": "x", "kind": "thread"}, "needs parts"),
        ({"text": "other", "parts": ["a", "b"]}, "differs from the thread's first part"),
        ({"text": "x", "parts": ["a", "b"], "kind": "single"}, "only a thread takes parts"),
        ({"text": "x", "media": ["a.png"]}, "media is not supported yet"),
        ({"text": "x", "account": "a" * 65}, "at most 64"),
        ({"text": "x", "generator": "no spaces allowed"}, "generator"),
        ({"text": "x", "reply_to": True}, "must be a string"),
    ],
)
def test_one_row_rules(fields, reason):
    row = _check(fields)
    assert row.outcome == "rejected" and reason in row.reason, row.reason


def test_kind_follows_the_columns_when_not_given():
    assert _check({"parts": ["one", "two"]}).values["kind"] == "thread"
    assert _check({"text": "hi", "reply_to": 1790000000000000001}).values["kind"] == "reply"
    assert _check({"text": "hi"}).values["kind"] == "single"


def test_a_file_without_rows_or_with_a_data_line_first_is_refused():
    with pytest.raises(ImportFileError, match="no header"):
        _rows(b"\n\n")
    with pytest.raises(ImportFileError, match="not a header"):
        _rows(b"hello there,main\n")
    rows, _ = _rows(b"text,account\n")
    assert rows == []


def test_row_count_and_file_size_are_bounded(monkeypatch):
    monkeypatch.setattr(bulk, "MAX_ROWS", 3)
    rows, _ = _rows(b"text\na\nb\nc\n")
    assert len(rows) == 3
    with pytest.raises(ImportFileError, match="more than 3 rows"):
        _rows(b"text\na\nb\nc\nd\n")
    monkeypatch.setattr(bulk, "MAX_ROWS", 5000)
    monkeypatch.setattr(bulk, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ImportFileError, match="larger than"):
        _rows(b"text\n" + b"hello\n" * 200, "jsonl")
