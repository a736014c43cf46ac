"""Bulk import and export of posts (`xbot import`, `xbot export`).

The file is hostile until proven otherwise: it is read as bytes, line by line, with every size bounded
(``MAX_FILE_BYTES``, ``MAX_RECORD_BYTES``, ``MAX_ROWS``), strictly as UTF-8 (a UTF-8 byte-order mark is
skipped; UTF-16/32 and NUL bytes are refused). A problem with the file as a whole (not text, no header,
an over-long line, broken CSV quoting) is one ``ImportFileError`` and nothing is imported; a problem with
one row rejects that row, with its line number and one line of reason.

Each row goes through ``enqueue.prepare``, the checks `xbot enqueue` makes (weighted length, kind rules,
reply target, schedule window), then the store's: unknown account, the duplicate-text gate, and the row
key. The key is the row's ``key`` column when given, else a hash of the normalised row (``row_key``); it
is stored in ``posts.import_key`` under a unique index, so a file imported twice, or by two processes at
once, adds each row once.

Export writes every post with its status, reason, tweet ids, timestamps and latest metrics. A CSV cell
that a spreadsheet would run as a formula (it starts with ``= + - @``, a tab or a carriage return) is
written with a leading ``'``; import removes it again, so an export imports back to the same queue.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO

from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.enqueue import ValidationError, duplicate_message, needs_review, prepare
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import ensure_account, get_account
from xbot_pipeline.store.imports import (
    existing_accounts,
    export_page,
    insert_imported,
    posts_by_import_key,
    posts_with_hashes,
)
from xbot_pipeline.store.posts import DEAD
from xbot_pipeline.store.schema import POST_STATUSES

FORMATS = ("csv", "jsonl")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
MAX_FILE_BYTES = 64 * 1024 * 1024  # the whole file
MAX_RECORD_BYTES = 256 * 1024  # one line, and one CSV record (a quoted field may span lines)
MAX_ROWS = 5_000  # rows per file: one --atomic transaction stays well inside the store's 15 s call deadline
WRITE_BATCH = 1000  # rows per transaction without --atomic (a rerun finishes an interrupted import)
EXPORT_PAGE = 1000
MAX_KEY_CHARS = 128
MAX_ACCOUNT_CHARS = 64

# Columns (CSV header names, JSONL keys) import reads; `status` only decides whether a row is imported.
IMPORT_COLUMNS = (
    "key",
    "account",
    "kind",
    "when",
    "text",
    "parts",
    "reply_to",
    "media",
    "generator",
    "status",
)
EXPORT_COLUMNS = (
    "id",
    "key",
    "account",
    "kind",
    "status",
    "reason",
    "when",
    "text",
    "parts",
    "reply_to",
    "generator",
    "tweet_id",
    "tweet_ids",
    "attempts",
    "posted_at",
    "created_at",
    "updated_at",
    "metrics_horizon",
    "metrics_at",
    "impressions",
    "likes",
    "reposts",
    "replies",
    "quotes",
    "bookmarks",
)
ALIASES = {"account_id": "account", "scheduled_at": "when", "reply_to_tweet_id": "reply_to"}
KNOWN_COLUMNS = frozenset(IMPORT_COLUMNS) | frozenset(EXPORT_COLUMNS)
# statuses a row may carry and still be imported (queued, or awaiting review where the account reviews all)
WAITING = ("queued", "retry_pending", "blocked", "awaiting_review")
OUTCOMES = ("accepted", "rejected", "already", "skipped")

_FORMULA_START = "=+-@\t\r"
_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_CHARS}}}")
_GENERATOR = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_UTF16_32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")


class ImportFileError(ValueError):
    """The file as a whole cannot be read as rows (one line saying why); nothing is imported."""


class _Skip(Exception):
    """The row is history (posted, failed, ...), not something to queue."""


# -- cells ------------------------------------------------------------------------------------------------


def escape_cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: ``'`` before a formula start (and before a ``'`` that
    precedes one, so ``unescape_cell`` always gives the value back)."""
    if value[:1] and (
        value[0] in _FORMULA_START or (value[0] == "'" and value[1:2] and value[1] in "'" + _FORMULA_START)
    ):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """The inverse of ``escape_cell``: one leading ``'`` goes when a formula start or ``'`` follows it."""
    if value[:1] == "'" and value[1:2] and value[1] in "'" + _FORMULA_START:
        return value[1:]
    return value


def column_name(raw: str) -> str:
    """``Reply-To `` -> ``reply_to``; aliases (``scheduled_at`` -> ``when``) resolved."""
    name = re.sub(r"[\s-]+", "_", raw.strip().lower())
    return ALIASES.get(name, name)


def detect_format(path: str, fmt: str | None) -> str:
    if fmt is not None:
        value = fmt.strip().lower()
        if value not in FORMATS:
            raise ImportFileError(f"--format must be one of {', '.join(FORMATS)}, got {fmt[:20]!r}")
        return value
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ImportFileError(
            f"cannot tell the format of {Path(path).name[:60]!r} from its extension "
            f"({', '.join(EXTENSIONS)}); give --format csv or --format jsonl"
        )
    return EXTENSIONS[suffix]


# -- reading ----------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One data row of the file and what became of it."""

    line: int
    outcome: str = "accepted"  # accepted | rejected | already | skipped (see OUTCOMES)
    reason: str = ""
    post_id: int | None = None
    key: str = ""
    content_key: str = ""
    account: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.outcome, self.reason = "rejected", reason


def _lines(fh: BinaryIO) -> Iterator[tuple[int, str]]:
    """``(line number, text)``: strict UTF-8, each line and the whole file bounded."""
    head = fh.peek(8192)[:8192] if isinstance(fh, io.BufferedReader) else b""
    if b"\x00" in head and not head.startswith(_UTF16_32_BOMS):
        raise ImportFileError("this is not a text file (it has NUL bytes in its first 8 KiB)")
    number, total = 0, 0
    while raw := fh.readline(MAX_RECORD_BYTES + 1):
        number += 1
        total += len(raw)
        if number == 1:
            if raw.startswith(_UTF16_32_BOMS):
                raise ImportFileError(
                    "the file is UTF-16 or UTF-32 (it starts with that byte-order mark); save it as UTF-8"
                )
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # UTF-8's byte-order mark (Excel writes one)
        if b"\x00" in raw:
            raise ImportFileError(f"line {number} contains a NUL byte: this is not a UTF-8 text file")
        if len(raw) > MAX_RECORD_BYTES:
            raise ImportFileError(
                f"line {number} is longer than {MAX_RECORD_BYTES // 1024} KiB, the limit for one row"
            )
        if total > MAX_FILE_BYTES:
            raise ImportFileError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB; split it")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"line {number} is not UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start + 1}); "
                "save the file as UTF-8"
            ) from None
        yield number, text


def _csv_rows(
    lines: Iterator[tuple[int, str]], ignored: list[str]
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(line, fields)`` per data row, or ``(line, reason)`` for a row that cannot be read."""
    state = {"line": 0, "start": 1, "size": 0}

    def feed() -> Iterator[str]:
        for number, text in lines:
            state["line"] = number
            state["size"] += len(text)
            if state["size"] > MAX_RECORD_BYTES:
                raise ImportFileError(
                    f"the row that starts at line {state['start']} is longer than {MAX_RECORD_BYTES // 1024} "
                    "KiB (a quote that is never closed?)"
                )
            yield text

    csv.field_size_limit(MAX_RECORD_BYTES)
    reader = csv.reader(feed(), strict=True)
    names: list[str] | None = None
    while True:
        state["start"], state["size"] = state["line"] + 1, 0
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportFileError(f"line {state['line']} is not valid CSV ({exc})") from None
        if not any(cell.strip() for cell in record):
            continue
        if names is None:
            names = _header(record, state["start"], ignored)
            continue
        if len(record) > len(names) and any(cell.strip() for cell in record[len(names) :]):
            yield (
                state["start"],
                (f"{len(record)} cells but the header names {len(names)} columns (an unquoted comma?)"),
            )
            continue
        yield (
            state["start"],
            {
                name: unescape_cell(cell)
                for name, cell in zip(names, record, strict=False)
                if name in IMPORT_COLUMNS
            },
        )
    if names is None:
        raise ImportFileError(f"the file has no header line (the columns: {', '.join(IMPORT_COLUMNS)})")


def _header(record: list[str], line: int, ignored: list[str]) -> list[str]:
    names = [column_name(cell) for cell in record]
    if not any(name in KNOWN_COLUMNS for name in names):
        shown = ",".join(record)[:60]
        raise ImportFileError(
            f"line {line} is not a header ({shown!r}): the first line names the columns, "
            f"e.g. {','.join(IMPORT_COLUMNS[:5])}"
        )
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise ImportFileError(f"column {name!r} appears twice in the header")
        seen.add(name)
    if "text" not in seen and "parts" not in seen:
        raise ImportFileError("the header has no text column (text, or parts for a thread)")
    ignored += [name[:40] for name in names if name and name not in KNOWN_COLUMNS]
    return names


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _jsonl_rows(
    lines: Iterator[tuple[int, str]], ignored: list[str]
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, text in lines:
        if not text.strip():
            continue
        try:
            value = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        except (ValueError, RecursionError) as exc:
            yield (
                number,
                f"not valid JSON ({'nested too deeply' if isinstance(exc, RecursionError) else exc})",
            )
            continue
        if not isinstance(value, dict):
            yield number, f"not a JSON object (a {_type_name(value)})"
            continue
        fields: dict[str, Any] = {}
        for raw_name, cell in value.items():
            name = column_name(raw_name)
            if name in IMPORT_COLUMNS:
                fields[name] = cell
            elif name not in KNOWN_COLUMNS and name[:40] not in ignored:
                ignored.append(name[:40])
        yield number, fields


def read_rows(fh: BinaryIO, fmt: str, ignored: list[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """The file's data rows; ``ImportFileError`` for a file that is not rows at all or exceeds a bound.
    Unknown columns are appended to ``ignored``."""
    rows = _csv_rows(_lines(fh), ignored) if fmt == "csv" else _jsonl_rows(_lines(fh), ignored)
    for count, item in enumerate(rows, 1):
        if count > MAX_ROWS:
            raise ImportFileError(f"the file has more than {MAX_ROWS} rows; split it")
        yield item


# -- one row ----------------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _string(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got a {_type_name(value)}")
    return value


def _parts(fields: dict[str, Any]) -> list[str] | None:
    value = fields.get("parts")
    if isinstance(value, str):  # CSV: a JSON array in the cell
        if not value.strip():
            return None
        try:
            value = json.loads(value, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise ValidationError('parts is not a JSON array of texts (e.g. ["first", "second"])') from None
    if value is None or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValidationError('parts must be a list of texts (e.g. ["first", "second"])')
    return value


def _reply_to(fields: dict[str, Any]) -> str:
    value = fields.get("reply_to")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _string(fields, "reply_to").strip()


def _when(fields: dict[str, Any]) -> datetime | None:
    text = _string(fields, "when").strip()
    if not text:
        return None
    example = "e.g. 2026-12-01T09:30:00+00:00"
    try:
        if len(text) > 40:
            raise ValueError
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"when {text[:40]!r} is not an ISO 8601 time ({example})") from None
    if parsed.utcoffset() is None:
        raise ValidationError(f"when {text!r} has no UTC offset; add Z or +HH:MM ({example})")
    return parsed


def _media(fields: dict[str, Any]) -> None:
    value = fields.get("media")
    if value is None or value == [] or (isinstance(value, str) and not value.strip()):
        return
    raise ValidationError("media is not supported yet: leave the media column empty")


def row_key(account: str, kind: str, texts: list[str], reply_to: str | None, when: datetime | None) -> str:
    """The stable key of a row without a ``key`` column: sha256 of the account, kind, the validated (NFC)
    texts, the reply target and the UTC time (empty when the row gives none)."""
    payload = [account, kind, texts, reply_to or "", when.isoformat() if when is not None else ""]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def post_key(post: dict[str, Any]) -> str:
    """``row_key`` of a stored post (as if imported with its own time)."""
    texts = list(post["parts"]) if post["kind"] == "thread" and post["parts"] else [post["text"]]
    return row_key(post["account_id"], post["kind"], texts, post["reply_to_tweet_id"], post["scheduled_at"])


def check_row(
    row: Row, fields: dict[str, Any], *, default_account: str, now: datetime, config: PostingConfig
) -> None:
    """Fill ``row`` (key, account, ``posts`` values) or mark it rejected/skipped; no store access."""
    try:
        _check(row, fields, default_account=default_account, now=now, config=config)
    except ValidationError as exc:
        row.reject(str(exc))
    except _Skip as exc:
        row.outcome, row.reason = "skipped", str(exc)


def _check(
    row: Row, fields: dict[str, Any], *, default_account: str, now: datetime, config: PostingConfig
) -> None:
    status = _string(fields, "status").strip().lower()
    if status and status not in POST_STATUSES:
        raise ValidationError(f"status {status[:30]!r} is not a post status")
    if status and status not in WAITING:
        raise _Skip(f"status {status}: only waiting posts ({', '.join(WAITING)}) are imported")
    _media(fields)
    account = _string(fields, "account").strip() or default_account
    if len(account) > MAX_ACCOUNT_CHARS:
        raise ValidationError(
            f"account is {len(account)} characters; an account id has at most {MAX_ACCOUNT_CHARS}"
        )
    explicit = _string(fields, "key").strip()
    if explicit and not _KEY.fullmatch(explicit):
        raise ValidationError(f"key must be 1-{MAX_KEY_CHARS} printable ASCII characters without spaces")
    generator = _string(fields, "generator").strip() or None
    if generator is not None and not _GENERATOR.fullmatch(generator):
        raise ValidationError("generator must be 1-64 letters, digits or _ . : -")
    parts, text, reply_to = _parts(fields), _string(fields, "text"), _reply_to(fields)
    kind = _string(fields, "kind").strip().lower() or (
        "thread" if parts else "reply" if reply_to else "single"
    )
    if kind == "thread":
        if parts is None:
            raise ValidationError("a thread needs parts, the list of its texts")
        if text.strip() and unicodedata.normalize("NFC", text) != unicodedata.normalize("NFC", parts[0]):
            raise ValidationError("text differs from the thread's first part (leave text empty for a thread)")
        texts = parts
    else:
        if parts is not None:
            raise ValidationError(f"only a thread takes parts (kind is {kind[:20]!r})")
        texts = [text]
    if kind == "reply" and not reply_to:
        raise ValidationError("a reply needs reply_to, the id of the post it answers")
    when = _when(fields)
    values = prepare(kind, texts, reply_to or None, when, now, config)
    cleaned = values["parts"] or [values["text"]]
    row.content_key = row_key(
        account, kind, cleaned, values["reply_to_tweet_id"], values["scheduled_at"] if when else None
    )
    row.key, row.account = explicit or row.content_key, account
    row.values = {**values, "generator": generator}


# -- the import -------------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What one import did (or, with ``dry_run``, would do) to each row."""

    fmt: str
    rows: list[Row]
    ignored_columns: list[str]
    dry_run: bool
    atomic: bool
    default_account: str
    now: datetime
    written: int = 0

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.fmt,
            "dry_run": self.dry_run,
            "atomic": self.atomic,
            "rows": len(self.rows),
            **{outcome: self.count(outcome) for outcome in OUTCOMES},
            "added": self.written,
            "ignored_columns": self.ignored_columns,
            "details": [
                {"line": r.line, "outcome": r.outcome, "reason": r.reason, "post_id": r.post_id}
                for r in self.rows
                if r.outcome != "accepted"
            ],
        }


def read_file(
    path: str,
    *,
    fmt: str | None = None,
    default_account: str,
    now: datetime,
    config: PostingConfig | None = None,
) -> ImportReport:
    """Read the file and check each row on its own (no store): the report, every row still to be
    checked against the store and written by ``apply_import``. ``ImportFileError`` when the file is not
    rows at all, so a hostile file is refused before the store is even opened."""
    config = config or PostingConfig()
    fmt = detect_format(path, fmt)
    ignored: list[str] = []
    rows: list[Row] = []
    with open(path, "rb") as fh:
        for line, fields in read_rows(fh, fmt, ignored):
            row = Row(line)
            if isinstance(fields, str):
                row.reject(fields)
            else:
                check_row(row, fields, default_account=default_account, now=now, config=config)
            rows.append(row)
    return ImportReport(
        fmt, rows, ignored, dry_run=False, atomic=False, default_account=default_account, now=now
    )


def apply_import(
    store: Store,
    report: ImportReport,
    *,
    default_publisher: str = "api",
    atomic: bool = False,
    dry_run: bool = False,
    config: PostingConfig | None = None,
) -> ImportReport:
    """The store's checks (row key, account, duplicate text) and, unless ``dry_run`` or ``atomic`` with a
    rejected row, the insert. The default account is created on first use, as `xbot enqueue` creates it;
    any other account must exist."""
    config = config or PostingConfig()
    report.atomic, report.dry_run = atomic, dry_run
    rows, default_account, now = report.rows, report.default_account, report.now
    missing_default = _against_store(store, rows, default_account, now, config)
    accepted = [r for r in rows if r.outcome == "accepted"]
    if dry_run or not accepted or (atomic and report.rejected):
        return report
    if missing_default:
        ensure_account(store, default_account, publisher=default_publisher)
    # imported rows are the operator's own posts: held for review only where the account reviews `all`
    held = {
        a
        for a in {r.account for r in accepted}
        if needs_review((get_account(store, a) or {}).get("review") or "off", "operator")
    }
    batches = (
        [accepted]
        if atomic
        else [accepted[i : i + WRITE_BATCH] for i in range(0, len(accepted), WRITE_BATCH)]
    )
    for batch in batches:
        added = insert_imported(
            store,
            [
                {
                    **r.values,
                    "account_id": r.account,
                    "import_key": r.key,
                    "status": "awaiting_review" if r.account in held else "queued",
                    "created_at": now,
                    "updated_at": now,
                }
                for r in batch
            ],
        )
        for r in batch:
            if r.key in added:
                r.post_id = added[r.key]
                report.written += 1
            else:  # a concurrent import took the key between our check and our insert
                r.outcome, r.reason = "already", "already imported (by an import running at the same time)"
    return report


def import_file(
    store: Store,
    path: str,
    *,
    fmt: str | None = None,
    default_account: str,
    default_publisher: str = "api",
    atomic: bool = False,
    dry_run: bool = False,
    config: PostingConfig | None = None,
) -> ImportReport:
    """``read_file`` then ``apply_import``: read, check and (unless ``dry_run``, or ``atomic`` with a
    rejected row) queue the file's rows. ``ImportFileError`` (nothing written) for a file that is not rows."""
    report = read_file(path, fmt=fmt, default_account=default_account, now=store.clock.now(), config=config)
    return apply_import(
        store, report, default_publisher=default_publisher, atomic=atomic, dry_run=dry_run, config=config
    )


def _against_store(
    store: Store, rows: list[Row], default_account: str, now: datetime, config: PostingConfig
) -> bool:
    """The checks that need the store, in file order; True when the default account must be created."""
    first: dict[str, int] = {}
    for r in _live(rows):
        if r.key in first:
            r.reject(f"the same row as line {first[r.key]} (same key)")
        else:
            first[r.key] = r.line
    taken = posts_by_import_key(store, [r.key for r in _live(rows)])
    for r in _live(rows):
        if r.key in taken:
            r.outcome, r.post_id, r.reason = (
                "already",
                taken[r.key],
                f"already imported as post {taken[r.key]}",
            )
    live = _live(rows)
    have = existing_accounts(store, {r.account for r in live})
    for r in live:
        if r.account not in have and r.account != default_account:
            r.reject(f"unknown account {r.account[:64]!r}")
    candidates: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for post in posts_with_hashes(store, {r.values["content_hash"] for r in _live(rows)}):
        candidates.setdefault((post["account_id"], post["content_hash"]), []).append(post)
    since = now - timedelta(seconds=config.dedup_window_s)
    in_file: dict[tuple[str, str], int] = {}
    for r in _live(rows):
        pair = (r.account, r.values["content_hash"])
        same = [p for p in candidates.get(pair, []) if post_key(p) == r.content_key]
        if same:
            r.outcome, r.post_id, r.reason = (
                "already",
                same[0]["id"],
                f"already in the store as post {same[0]['id']}",
            )
            continue
        recent = [
            p
            for p in candidates.get(pair, [])
            if p["status"] not in DEAD and (p["posted_at"] or p["created_at"]) >= since
        ]
        if recent:
            r.reject(duplicate_message(r.account, recent[0]["id"], config))
        elif pair in in_file:
            r.reject(f"the same text as line {in_file[pair]} for {r.account}")
        else:
            in_file[pair] = r.line
    return default_account not in have and any(r.account == default_account for r in _live(rows))


def _live(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.outcome == "accepted"]


# -- the export -------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_record(post: dict[str, Any]) -> dict[str, Any]:
    """One post as an export row (``EXPORT_COLUMNS``); what import reads back comes out unchanged."""
    metrics = post.get("metrics") or {}
    return {
        "id": post["id"],
        "key": post["import_key"] or post_key(post),
        "account": post["account_id"],
        "kind": post["kind"],
        "status": post["status"],
        "reason": post["status_reason"],
        "when": _iso(post["scheduled_at"]),
        "text": post["text"],
        "parts": list(post["parts"]) if post["kind"] == "thread" and post["parts"] else None,
        "reply_to": post["reply_to_tweet_id"],
        "generator": post["generator"],
        "tweet_id": post["tweet_id"],
        "tweet_ids": post["tweet_ids"],
        "attempts": post["attempt_count"],
        "posted_at": _iso(post["posted_at"]),
        "created_at": _iso(post["created_at"]),
        "updated_at": _iso(post["updated_at"]),
        "metrics_horizon": metrics.get("horizon"),
        "metrics_at": _iso(metrics.get("collected_at")),
        **{
            name: metrics.get(name)
            for name in ("impressions", "likes", "reposts", "replies", "quotes", "bookmarks")
        },
    }


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return escape_cell(str(value))


def export_posts(
    store: Store,
    out: IO[str],
    fmt: str,
    *,
    statuses: tuple[str, ...] = (),
    account_id: str | None = None,
) -> int:
    """Write the posts (id order, page by page) to ``out`` as CSV (with a header) or JSONL; returns how
    many. ``out`` for CSV should be opened with ``newline=""``."""
    writer = csv.writer(out, lineterminator="\r\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_COLUMNS)
    after, count = 0, 0
    while page := export_page(
        store, after_id=after, limit=EXPORT_PAGE, statuses=statuses, account_id=account_id
    ):
        for post in page:
            record = export_record(post)
            if writer is not None:
                writer.writerow([_csv_cell(record[name]) for name in EXPORT_COLUMNS])
            else:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += len(page)
        after = page[-1]["id"]
    return count
