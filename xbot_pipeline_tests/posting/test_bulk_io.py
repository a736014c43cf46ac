"""`xbot import` and `xbot export` through the real entry point, on both stores.

The commands run in one driver process per batch (a fork per command, see ``cli/driver.py``), against
the test's store; times are the real clock's (the CLI's), so schedules are written relative to now.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from xbot_pipeline.posting.bulk import MAX_RECORD_BYTES, import_file
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.imports import insert_imported
from xbot_pipeline.store.metrics import insert_metric
from xbot_pipeline.store.posts import list_posts, set_fields
from xbot_pipeline_tests import dbutil
from xbot_pipeline_tests.cli.hostile import ROOT, Case, one_line_failure, run_cases, store_digest
from xbot_pipeline_tests.fixtures.traceback_scan import record_output

BACKEND = os.environ.get("XBOT_TEST_DATABASE", "sqlite").strip().lower()
NOW = datetime.now(UTC).replace(microsecond=0)
QUEUE_FIELDS = ("account_id", "kind", "text", "parts", "reply_to_tweet_id", "scheduled_at", "generator")


def _at(minutes: int) -> str:
    return (NOW + timedelta(hours=2, minutes=minutes)).isoformat()


def _xbot(settings, tmp: Path, *argvs: list[str]) -> list[dict]:
    base = {"XBOT_HOME": str(settings.home), "XBOT_DATABASE_URL": settings.database_url}
    return run_cases([Case(" ".join(a)[:60], a, "") for a in argvs], base, tmp)


def _report(result: dict) -> dict:
    return json.loads(result["stdout"])


def _queue(store: Store) -> list[tuple]:
    rows = list_posts(store, statuses=("queued",))
    return sorted(tuple(json.dumps(r[f], default=str) for f in QUEUE_FIELDS) for r in rows)


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


HEADER = ["text", "account", "when", "kind", "reply_to", "parts", "media"]
# (row, expected reason) for the bad rows mixed into the 1,000; each must be reported on its line.
BAD = [
    (["x" * 281, "", _at(1), "", "", "", ""], "281 weighted characters"),
    (["bad kind", "", _at(2), "poll", "", "", ""], "kind must be one of"),
    (["naive time", "", "2026-12-01T10:00:00", "", "", "", ""], "no UTC offset"),
    (["not a time", "", "next tuesday", "", "", "", ""], "not an ISO 8601 time"),
    (["ghost account", "ghost", _at(3), "", "", "", ""], "unknown account 'ghost'"),
    (["a reply", "", _at(4), "reply", "", "", ""], "needs reply_to"),
    (["", "", _at(5), "thread", "", '["only one"]', ""], "at least 2 parts"),
    (["a reply", "", _at(6), "reply", "12ab", "", ""], "not a post id"),
    (["with media", "", _at(7), "", "", "", "pic.png"], "media is not supported yet"),
    (["", "", _at(8), "thread", "", "[not json", ""], "parts is not a JSON array"),
    (["far past", "", (NOW - timedelta(days=30)).isoformat(), "", "", "", ""], "outside the window"),
    (["   ", "", _at(9), "", "", "", ""], "empty or only whitespace"),
    (["ctrl \x01 char", "", _at(10), "", "", "", ""], "control character"),
    (["single with target", "", _at(11), "single", "123", "", ""], "only a reply takes a reply target"),
]


def _thousand_rows() -> tuple[list[list[str]], dict[int, str]]:
    """1,000 rows (singles, threads, replies on two accounts) with the BAD rows and a repeated row spread
    through them; returns the rows and {line: expected reason}."""
    rows: list[list[str]] = []
    for i in range(1000 - len(BAD) - 1):
        account = "second" if i % 7 == 0 else ""
        when = _at(20 + i)
        if i % 5 == 0:
            rows.append(
                ["", account, when, "thread", "", json.dumps([f"thread {i} part one", f"part two {i}"]), ""]
            )
        elif i % 5 == 1:
            rows.append([f"reply number {i}", account, when, "reply", str(1790000000000000000 + i), "", ""])
        else:
            rows.append([f'post number {i}, with a comma and a "quote"', account, when, "", "", "", ""])
    expected: dict[int, str] = {}
    for n, (row, _reason) in enumerate(BAD):
        index = 30 + n * 67
        rows.insert(index, row)
    rows.insert(500, list(rows[10]))  # the same row twice
    for index, row in enumerate(rows):
        for bad, reason in BAD:
            if row is bad:
                expected[index + 2] = reason  # line 1 is the header
    expected[502] = "the same row as line 12"
    assert len(rows) == 1000
    return rows, expected


def test_import_of_1000_rows_reports_each_bad_row_and_adds_the_rest_once(store, settings, tmp_path):
    ensure_account(store, "second", publisher="api")
    rows, expected = _thousand_rows()
    path = tmp_path / "posts.csv"
    _write_csv(path, HEADER, rows)
    first, second = _xbot(
        settings, tmp_path, ["import", str(path), "--json"], ["import", str(path), "--json"]
    )
    assert first["rc"] == 2, first["stderr"]
    assert first["stderr"].count("\n") == 1 and f"{len(expected)} of 1000 rows rejected" in first["stderr"]
    report = _report(first)
    rejected = {d["line"]: d["reason"] for d in report["details"] if d["outcome"] == "rejected"}
    assert set(rejected) == set(expected), (sorted(rejected), sorted(expected))
    for line, reason in expected.items():
        assert reason in rejected[line], (line, rejected[line])
    good = 1000 - len(expected)
    assert report["accepted"] == report["added"] == good
    posts = list_posts(store)
    assert len(posts) == good and all(p["import_key"] for p in posts)
    assert {p["account_id"] for p in posts} == {"main", "second"}  # the default account was created
    # twice imported adds nothing; the bad rows are reported again, the good ones as already imported
    assert second["rc"] == 2
    again = _report(second)
    assert (again["accepted"], again["already"], again["rejected"]) == (0, good, len(expected))
    assert len(list_posts(store)) == good


def test_atomic_adds_nothing_when_a_row_is_bad_and_dry_run_adds_nothing(store, settings, tmp_path):
    ensure_account(store, "main", publisher="api")
    good = [[f"atomic post {i}", "", _at(i), "", "", "", ""] for i in range(50)]
    bad = [*good[:25], ["x" * 300, "", _at(99), "", "", "", ""], *good[25:]]
    _write_csv(tmp_path / "bad.csv", HEADER, bad)
    _write_csv(tmp_path / "good.csv", HEADER, good)
    before = store_digest(store)
    atomic_bad, dry_good, atomic_good, again = _xbot(
        settings,
        tmp_path,
        ["import", str(tmp_path / "bad.csv"), "--atomic", "--json"],
        ["import", str(tmp_path / "good.csv"), "--dry-run", "--json"],
        ["import", str(tmp_path / "good.csv"), "--atomic"],
        ["import", str(tmp_path / "bad.csv"), "--atomic", "--json"],
    )
    assert atomic_bad["rc"] == 2 and "--atomic: nothing was added" in atomic_bad["stderr"]
    assert [d["line"] for d in _report(atomic_bad)["details"]] == [27]
    assert dry_good["rc"] == 0, dry_good["stderr"]
    assert _report(dry_good)["accepted"] == 50 and _report(dry_good)["added"] == 0
    # all 50 were new to the atomic import that followed: the two before it added nothing
    assert atomic_good["rc"] == 0, atomic_good["stderr"]
    assert "50 accepted (50 added)" in atomic_good["stdout"]
    assert len(list_posts(store)) == 50
    assert store_digest(store) != before
    # the bad file again: its 50 good rows are already there, the bad one still refuses the whole file
    assert again["rc"] == 2 and (_report(again)["already"], _report(again)["added"]) == (50, 0)


TRICKY = [
    "=SUM(A1:A9) looks like a formula",
    "+1 for this",
    "-5 degrees outside",
    "@someone hello there",
    "'=quoted already",
    "'plain apostrophe",
    'line one\nline two, with "quotes"',
    "ünïcødé 😀 中文",
]


def _seed(store: Store, tmp_path: Path) -> None:
    """A store with imported and enqueued posts of every kind, tricky texts, one posted with metrics."""
    store.clock.set(datetime.now(UTC))
    ensure_account(store, "main", publisher="api")
    ensure_account(store, "other", publisher="browser")
    lines = [
        {"text": text, "when": _at(i), "account": "main" if i % 2 else "other", "generator": "persona_a"}
        for i, text in enumerate(TRICKY)
    ]
    lines.append({"parts": ["-thread starts with a minus", "@second part"], "when": _at(30)})
    lines.append({"kind": "reply", "text": "=a reply", "reply_to": 1790000000000000001, "when": _at(31)})
    lines.append({"text": "explicit key", "key": "crm-4711", "when": _at(32)})
    (tmp_path / "seed.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    report = import_file(store, str(tmp_path / "seed.jsonl"), default_account="main")
    assert report.written == len(lines), report.as_dict()
    enqueue(store, "main", "single", "enqueued by hand", scheduled_at=NOW + timedelta(hours=5))
    enqueue(
        store, "main", "thread", ["hand thread one", "hand thread two"], scheduled_at=NOW + timedelta(hours=6)
    )
    done = enqueue(store, "main", "single", "already posted", scheduled_at=NOW + timedelta(hours=1))
    set_fields(store, done["id"], NOW, status="posted", tweet_id="1790000000000000099", posted_at=NOW)
    insert_metric(
        store,
        {
            "post_id": done["id"],
            "account_id": "main",
            "tweet_id": "1790000000000000099",
            "horizon": "1h",
            "collected_at": NOW,
            "impressions": 120,
            "likes": 7,
        },
    )


@pytest.fixture
def empty_stores(tmp_path) -> Iterator[list[Store]]:
    """Two empty stores of the test's backend, each with the account `other` set up (`main`, the default
    account, is created by the import)."""
    if BACKEND == "postgres":
        urls = [dbutil.create_pg_database("xbot_bulk") for _ in range(2)]
    else:
        urls = [f"sqlite:///{tmp_path / f'empty{n}.sqlite3'}" for n in range(2)]
    stores = [Store.open(url) for url in urls]
    for empty in stores:
        ensure_account(empty, "other", publisher="browser")
    yield stores
    for empty in stores:
        empty.dispose()
    if BACKEND == "postgres":
        for url in urls:
            dbutil.drop_pg_database(url)


def test_export_round_trips_through_import(store, settings, tmp_path, empty_stores):
    _seed(store, tmp_path)
    queue = _queue(store)
    assert len(queue) == len(TRICKY) + 5
    csv_out, jsonl_out = tmp_path / "out.csv", tmp_path / "out.jsonl"
    into = [
        {"XBOT_DATABASE_URL": empty.engine.url.render_as_string(hide_password=False)}
        for empty in empty_stores
    ]
    cases = [
        Case("export csv", ["export", "--out", str(csv_out)], ""),
        Case("export jsonl", ["export", "--out", str(jsonl_out)], ""),
        Case("export posted", ["export", "--status", "posted", "--format", "jsonl"], ""),
        Case("csv into the same store", ["import", str(csv_out), "--json"], ""),
        Case("jsonl into the same store", ["import", str(jsonl_out), "--json"], ""),
        Case("csv into an empty store", ["import", str(csv_out), "--json"], "", into[0]),
        Case("jsonl into an empty store", ["import", str(jsonl_out), "--json"], "", into[1]),
        Case("jsonl into the csv's store", ["import", str(jsonl_out), "--json"], "", into[0]),
    ]
    base = {"XBOT_HOME": str(settings.home), "XBOT_DATABASE_URL": settings.database_url}
    results = run_cases(cases, base, tmp_path)
    assert [r["rc"] for r in results] == [0] * len(cases), [r["stderr"] for r in results]
    # for spreadsheets: a UTF-8 mark, and no cell a spreadsheet would run as a formula
    raw = csv_out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    cells = [c for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'=SUM(A1:A9) looks like a formula" in cells and "''=quoted already" in cells
    (posted,) = [json.loads(line) for line in results[2]["stdout"].splitlines()]
    assert (posted["tweet_id"], posted["impressions"], posted["likes"]) == ("1790000000000000099", 120, 7)
    assert posted["metrics_horizon"] == "1h" and posted["posted_at"]
    # re-imported into the same store (and the second format into the first's copy): nothing added, the
    # posted row is history (skipped)
    for result in (results[3], results[4], results[7]):
        report = _report(result)
        counts = (report["added"], report["rejected"], report["already"], report["skipped"])
        assert counts == (0, 0, len(queue), 1), report
    assert _queue(store) == queue
    # into an empty store: the same queue, from either format, with the same keys
    keys = {p["import_key"] for p in list_posts(store) if p["import_key"]}
    for result, empty in zip(results[5:7], empty_stores, strict=True):
        assert _report(result)["added"] == len(queue)
        assert _queue(empty) == queue
        assert keys <= {p["import_key"] for p in list_posts(empty)} and "crm-4711" in keys


def test_hostile_files_are_one_line_and_leave_the_store_unchanged(store, settings, tmp_path):
    """Files that are not rows (binary, no header, a 10 MB line, ...) stop the import with one line and
    exit 2; bad rows are rejected one by one with their line."""
    ensure_account(store, "main", publisher="api")
    enqueue(store, "main", "single", "already here")
    files = {
        "binary.csv": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64,
        "no-header.csv": b"hello world,main,2026-12-01T10:00:00Z\nsecond,main,\n",
        "only-unknown-columns.csv": b"foo,bar\n1,2\n",
        "header-without-text.csv": b"account,when\nmain,\n",
        "duplicate-column.csv": b"text,Text\na,b\n",
        "long-line.csv": b"text\n" + b"x" * (10 * 1024 * 1024) + b"\n",
        "long-line.jsonl": b'{"text": "' + b"x" * (10 * 1024 * 1024) + b'"}\n',
        "unclosed-quote.csv": b'text\n"never closed\n' + b"more text\n" * 40_000,
        "bad-quoting.csv": b'text\n"a"b\n',
        "utf16.csv": "text\nhello\n".encode("utf-16"),
        "latin1.csv": "text\ncaf\u00e9\n".encode("latin-1"),
        "empty.csv": b"",
        "posts.txt": b"text\nhello\n",
        "ok.csv": b"text\nhello\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "folder.csv").mkdir()
    expect = {
        "binary.csv": "not a text file",
        "no-header.csv": "not a header",
        "only-unknown-columns.csv": "not a header",
        "header-without-text.csv": "no text column",
        "duplicate-column.csv": "appears twice",
        "long-line.csv": f"longer than {MAX_RECORD_BYTES // 1024} KiB",
        "long-line.jsonl": f"longer than {MAX_RECORD_BYTES // 1024} KiB",
        "unclosed-quote.csv": "never closed",
        "bad-quoting.csv": "not valid CSV",
        "utf16.csv": "UTF-16",
        "latin1.csv": "not UTF-8",
        "empty.csv": "no header",
        "posts.txt": "--format",
        "folder.csv": "folder",
        "missing.csv": "missing.csv",
    }
    cases = [Case(name, ["import", str(tmp_path / name)], reason) for name, reason in expect.items()]
    cases += [
        Case("atomic binary", ["import", "--atomic", str(tmp_path / "binary.csv")], "not a text file"),
        Case("unknown format", ["import", "--format", "xlsx", str(tmp_path / "latin1.csv")], "--format"),
        Case("unknown --account", ["import", "--account", "ghost", str(tmp_path / "ok.csv")], "ghost"),
        Case("export bad status", ["export", "--status", "done"], "--status"),
        Case("export bad format", ["export", "--format", "xml"], "--format"),
        Case("export unknown account", ["export", "--account", "ghost"], "ghost"),
        Case("export to a folder", ["export", "--out", str(tmp_path)], "folder"),
        Case("export below a file", ["export", "--out", str(tmp_path / "empty.csv" / "x.csv")], "cannot"),
    ]
    # rows that are hostile one by one (checked with --dry-run, so the store stays as it was too)
    lines = [
        json.dumps({"text": "fine row", "when": _at(1)}),
        "[1, 2, 3]",
        '{"text": NaN}',
        "[" * 100_000 + "]" * 100_000,
        '{"text": 42}',
        '{"text": "x", "parts": "not a list", "kind": "thread"}',
        "not json at all",
        '{"text": "bad key", "key": "has space"}',
        '{"text": "status done", "status": "done"}',
        '{"text": "a posted one", "status": "posted"}',
        "",
        json.dumps({"text": "another fine row", "extra_column": 1, "when": _at(2)}),
    ]
    (tmp_path / "rows.jsonl").write_text("\ufeff" + "\n".join(lines) + "\n")  # with a UTF-8 mark
    cases.append(
        Case("hostile rows", ["import", str(tmp_path / "rows.jsonl"), "--dry-run", "--json"], "rejected")
    )
    before = store_digest(store)
    results = _xbot(settings, tmp_path, *[c.argv for c in cases])
    assert store_digest(store) == before
    problems = [p for case, r in zip(cases, results, strict=True) if (p := one_line_failure(case, r))]
    assert not problems, "\n".join(problems)
    assert all(r["rc"] == 2 for r in results), [
        (c.name, r["rc"]) for c, r in zip(cases, results, strict=True)
    ]
    report = _report(results[-1])
    outcome = {d["line"]: (d["outcome"], d["reason"]) for d in report["details"]}
    assert {line: o for line, (o, _) in outcome.items()} == {
        **dict.fromkeys((2, 3, 4, 5, 6, 7, 8, 9), "rejected"),
        10: "skipped",
    }
    assert "nested too deeply" in outcome[4][1] and "must be a string" in outcome[5][1]
    assert "NaN" in outcome[3][1] and "not a post status" in outcome[9][1]
    assert report["accepted"] == 2 and report["ignored_columns"] == ["extra_column"]


def test_the_unique_key_is_enforced_by_the_store(store):
    """Two inserts of the same keyed rows (as two concurrent imports would race) add each row once."""
    ensure_account(store, "main", publisher="api")
    now = datetime.now(UTC)
    row = {
        "account_id": "main",
        "kind": "single",
        "text": "keyed",
        "parts": None,
        "reply_to_tweet_id": None,
        "scheduled_at": now,
        "normalized_text": "keyed",
        "content_hash": "h",
        "generator": None,
        "status": "queued",
        "created_at": now,
        "updated_at": now,
    }
    first = insert_imported(store, [{**row, "import_key": "k1"}, {**row, "import_key": "k2"}])
    assert set(first) == {"k1", "k2"}
    assert insert_imported(store, [{**row, "import_key": "k1"}, {**row, "import_key": "k3"}]).keys() == {"k3"}
    with pytest.raises(sa.exc.IntegrityError), store.begin() as conn:
        conn.execute(sa.text("UPDATE posts SET import_key = 'k1' WHERE import_key = 'k2'"))
    assert len(list_posts(store)) == 3


def test_two_imports_at_once_add_each_row_once(store, settings, tmp_path):
    ensure_account(store, "main", publisher="api")
    rows = [[f"concurrent {i}", "", _at(i), "", "", "", ""] for i in range(200)]
    _write_csv(tmp_path / "same.csv", HEADER, rows)
    env = {
        **os.environ,
        "XBOT_HOME": str(settings.home),
        "XBOT_DATABASE_URL": settings.database_url,
        "PYTHONPATH": str(ROOT),
    }
    code = "import sys; from xbot_pipeline.cli import main; sys.argv = ['xbot', *sys.argv[1:]]; main()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, "import", str(tmp_path / "same.csv"), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        record_output("concurrent xbot import", out, err)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    assert sum(r["added"] for r in reports) == 200
    assert sum(r["already"] for r in reports) == 200
    assert len(list_posts(store)) == 200
