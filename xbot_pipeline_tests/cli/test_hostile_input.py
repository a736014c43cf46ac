"""Bad input through the real `xbot` entry point: every command and sub-command, every XBOT_* variable.

Each case must end with a non-zero exit, exactly one stderr line (``xbot: error: ...``) naming what is
wrong, no traceback anywhere, and the store exactly as it was (a hash of every row). The cases run in one
driver process that forks a child per case (see ``driver.py``), so a few hundred cases take seconds.

The SQLite pass runs every (variable, bad value) case. Reading the variables does not depend on the
store, so the Postgres pass runs, for each variable, its first refused value, and every case whose verdict
could depend on the store: the store and instance URLs, and any value refused with one store URL and not
the other (``_store_sensitive``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import typer.main

from xbot_pipeline.cli.app import app
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.settings import SettingsError, known_variables, load_settings
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline_tests.cli.hostile import Case, one_line_failure, run_cases, store_digest
from xbot_pipeline_tests.conftest import BACKEND

BAD_UTF8 = b"\xff\xfe-not-utf8"
HUGE = "9" * 5000
# Candidate bad values for a variable; each variable gets the ones the settings really refuse.
BAD_VALUES = ("not a value", "-1", "nan", "1e400", HUGE, "x" * 100_000, "maybe", "ftp://x", "a b")


def _command_paths() -> set[str]:
    """Every command and sub-command `xbot --help` lists, as 'cancel' or 'sandbox fault'."""
    paths: set[str] = set()

    def walk(group, prefix: str) -> None:
        for name, cmd in group.commands.items():
            path = f"{prefix}{name}"
            if hasattr(cmd, "commands"):
                walk(cmd, path + " ")
            else:
                paths.add(path)

    walk(typer.main.get_command(app), "")
    return paths


def _command_cases(tmp: Path) -> list[Case]:
    not_a_folder = tmp / "a-file"
    not_a_folder.write_text("x")
    corrupt = tmp / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a database" * 100)
    below_file = str(not_a_folder / "state.sqlite3")
    c = Case
    return [
        # no command, unknown commands, help-less groups
        c("no command", [], "missing command"),
        c("unknown command", ["frobnicate"], "No such command"),
        c("unknown option at top", ["--frob"], "No such option"),
        c("bad utf-8 command", [BAD_UTF8], "UTF-8"),
        # enqueue
        c("enqueue missing text", ["enqueue"], "Missing argument"),
        c("enqueue text starting with -", ["enqueue", "-hello"], "'--'"),
        c("enqueue empty", ["enqueue", ""], "empty"),
        c("enqueue whitespace", ["enqueue", " \t "], "empty"),
        c("enqueue huge", ["enqueue", "x" * 100_000], "characters"),
        c("enqueue control char", ["enqueue", "a\x01b"], "control character"),
        c("enqueue invalid utf-8", ["enqueue", BAD_UTF8], "UTF-8"),
        c("enqueue bad kind", ["enqueue", "--kind", "bogus", "x"], "kind"),
        c("enqueue reply without target", ["enqueue", "--kind", "reply", "x"], "reply-to"),
        c("enqueue reply target too big", ["enqueue", "-k", "reply", "--reply-to", "9" * 20, "x"], "post id"),
        c("enqueue reply target negative", ["enqueue", "-k", "reply", "--reply-to=-5", "x"], "post id"),
        c("enqueue thread of one", ["enqueue", "--kind", "thread", "x"], "2 parts"),
        c("enqueue single with two texts", ["enqueue", "a", "b"], "exactly one"),
        c("enqueue --at garbage", ["enqueue", "--at", "tomorrow", "x"], "--at"),
        c("enqueue --at extreme", ["enqueue", "--at", "9999-12-31T23:59:59-14:00", "x"], "--at"),
        c("enqueue --at far past", ["enqueue", "--at", "2001-01-01T00:00:00", "x"], "window"),
        c("enqueue --at far future", ["enqueue", "--at", "2999-01-01T00:00:00", "x"], "window"),
        c("enqueue --at empty", ["enqueue", "--at", "", "x"], "--at"),
        c("enqueue unknown account", ["enqueue", "--account", "ghost", "x"], "unknown account"),
        c("enqueue empty account", ["enqueue", "--account", "", "x"], "unknown account"),
        c("enqueue --kind missing value", ["enqueue", "x", "--kind"], "--kind"),
        c("enqueue unknown option", ["enqueue", "--bogus", "x"], "No such option"),
        # cancel
        c("cancel missing id", ["cancel"], "Missing argument"),
        c("cancel not a number", ["cancel", "abc"], "post_id"),
        c("cancel float", ["cancel", "1.5"], "post_id"),
        c("cancel 2^63", ["cancel", "9223372036854775808"], "9223372036854775807"),
        c("cancel huge", ["cancel", HUGE], "post_id"),
        c("cancel zero", ["cancel", "0"], "post_id"),
        c("cancel negative", ["cancel", "--", "-5"], "post_id"),
        c("cancel extra", ["cancel", "1", "2"], "extra argument"),
        c("cancel unknown id", ["cancel", "987654"], "does not exist"),
        # worker (a fleet worker never starts on bad input)
        c("worker unknown queue", ["worker", "--queues", "pigeon"], "--queues must name"),
        c("worker empty queues", ["worker", "--queues", ","], "--queues must name"),
        c("worker zero concurrency", ["worker", "--concurrency", "0"], "--concurrency must be"),
        c("worker bad name", ["worker", "--name", "a b"], "--name must be"),
        c("worker extra", ["worker", "x"], "extra argument"),
        # resume-account, accounts, account-limits, account-publisher
        c("resume missing", ["resume-account"], "Missing argument"),
        c("resume unknown", ["resume-account", "ghost"], "unknown account"),
        c("resume huge", ["resume-account", "g" * 100_000], "unknown account"),
        c("accounts extra", ["accounts", "x"], "No such command"),
        c("accounts add bad id", ["accounts", "add", "a b", "--publisher", "api"], "account id"),
        c("accounts add bad publisher", ["accounts", "add", "new1", "--publisher", "fax"], "--publisher"),
        c("accounts unknown option", ["accounts", "--yaml"], "No such option"),
        c("limits missing", ["account-limits"], "Missing argument"),
        c("limits unknown account", ["account-limits", "ghost"], "unknown account"),
        c("limits inf spacing", ["account-limits", "main", "min_spacing_s=inf"], "min_spacing_s"),
        c("limits nan spacing", ["account-limits", "main", "min_spacing_s=nan"], "min_spacing_s"),
        c("limits spacing over a week", ["account-limits", "main", "min_spacing_s=604801"], "min_spacing_s"),
        c("limits 1e30", ["account-limits", "main", "per_hour=1e30"], "per_hour"),
        c("limits 2^63", ["account-limits", "main", "per_run=9223372036854775808"], "per_run"),
        c("limits huge digits", ["account-limits", "main", f"per_run={HUGE}"], "per_run"),
        c("limits negative", ["account-limits", "main", "threads_per_day=-1"], "threads_per_day"),
        c("limits over range", ["account-limits", "main", "replies_per_hour=1001"], "replies_per_hour"),
        c("limits empty value", ["account-limits", "main", "threads_per_hour="], "threads_per_hour"),
        c("limits not a number", ["account-limits", "main", "per_hour=lots"], "per_hour"),
        c("limits unknown name", ["account-limits", "main", "speed=3"], "NAME=VALUE"),
        c("limits no =", ["account-limits", "main", "per_hour"], "NAME=VALUE"),
        c("limits bad utf-8", ["account-limits", "main", b"per_hour=\xff"], "UTF-8"),
        c("publisher missing", ["account-publisher"], "Missing argument"),
        c("publisher unknown account", ["account-publisher", "ghost"], "unknown account"),
        c("publisher bad kind", ["account-publisher", "main", "pigeon"], "publisher must be"),
        c("publisher extra", ["account-publisher", "main", "api", "x"], "extra argument"),
        c("handle missing", ["account-handle"], "Missing argument"),
        c("handle unknown account", ["account-handle", "ghost", "@someone", "--no-check"], "ghost"),
        c("handle too long", ["account-handle", "main", "@" + "h" * 16, "--no-check"], "handle"),
        c("handle bad chars", ["account-handle", "main", "@no-dash", "--no-check"], "handle"),
        c("thread-resume missing", ["thread-resume"], "Missing argument"),
        c("thread-resume not a number", ["thread-resume", "abc"], "post_id"),
        c("thread-resume unknown post", ["thread-resume", "999999", "--part", "2", "--text", "x"], "999999"),
        # review window and evergreen posts
        c("review unknown account", ["review", "--account", "ghost"], "unknown account"),
        c("review unknown subcommand", ["review", "frob"], "No such command"),
        c("review approve missing", ["review", "approve"], "Missing argument"),
        c("review approve not a number", ["review", "approve", "abc"], "post_id"),
        c("review approve unknown", ["review", "approve", "987654"], "does not exist"),
        c("review edit no text", ["review", "edit", "987654"], "--text"),
        c("review edit empty", ["review", "edit", "987654", "--text", " "], "does not exist"),
        c("review reject unknown", ["review", "reject", "987654"], "does not exist"),
        c("review reject huge reason", ["review", "reject", "1", "--reason", "r" * 600], "--reason"),
        c("account-review missing", ["account-review"], "Missing argument"),
        c("account-review unknown account", ["account-review", "ghost", "all"], "unknown account"),
        c("account-review bad mode", ["account-review", "main", "sometimes"], "review must be one of"),
        c("evergreen missing", ["evergreen"], "Missing argument"),
        c("evergreen bad state", ["evergreen", "1", "maybe"], "on or off"),
        c("evergreen unknown post", ["evergreen", "987654", "on"], "does not exist"),
        c(
            "enqueue evergreen reply",
            ["enqueue", "--evergreen", "-k", "reply", "--reply-to", "5", "x"],
            "reply",
        ),
        # import / export (the file-level cases are in posting/test_bulk_io.py)
        c("import missing file", ["import"], "Missing argument"),
        c("import no such file", ["import", str(tmp / "nope.csv")], "nope.csv"),
        c("import unknown extension", ["import", str(not_a_folder)], "--format"),
        c("import bad format", ["import", "--format", "xls", str(not_a_folder)], "--format"),
        c("export bad status", ["export", "--status", "sent"], "--status"),
        c("export extra", ["export", "x"], "extra argument"),
        # passes and reports
        c("post extra", ["post", "now"], "extra argument"),
        c("recover extra", ["recover", "now"], "extra argument"),
        c("status extra", ["status", "x"], "extra argument"),
        c("status unknown option", ["status", "--xml"], "No such option"),
        c("plan seed not a number", ["plan", "--seed", "abc"], "--seed"),
        c("plan extra", ["plan", "x"], "extra argument"),
        c("metrics extra", ["metrics", "x"], "extra argument"),
        c("learning unknown account", ["learning", "--account", "ghost"], "ghost"),
        c("learning extra", ["learning", "x"], "extra argument"),
        c("best-times missing account", ["best-times"], "Missing argument"),
        c("best-times unknown account", ["best-times", "ghost"], "unknown account 'ghost'"),
        c("best-times --png is a folder", ["best-times", "main", "--png", str(tmp)], "is a folder"),
        c("best-times --png below a file", ["best-times", "main", "--png", below_file], "cannot write"),
        c("best-times extra", ["best-times", "main", "x"], "extra argument"),
        c("demo bad publisher", ["demo", "--publisher", "pigeon"], "pigeon"),
        # `ui --port 70000` is item 13 (validated on the integration branch): here it would exec dagster dev
        c("ui port negative", ["ui", "--port", "-1"], "port"),
        c("ui port not a number", ["ui", "--port", "http"], "port"),
        # db
        c("auth no sub-command", ["auth"], "missing command"),
        c("auth login unknown account", ["auth", "login", "ghost"], "unknown account"),
        c("auth login two kinds", ["auth", "login", "main", "--oauth1", "--bearer"], "choose one"),
        c("auth login no client id", ["auth", "login", "main", "--paste"], "--client-id"),
        c("auth login bad port", ["auth", "login", "main", "--port", "70000"], "--port"),
        c("auth status extra", ["auth", "status", "x"], "extra argument"),
        c("db no sub-command", ["db"], "missing command"),
        c("db unknown sub-command", ["db", "downgrade"], "No such command"),
        c("db upgrade extra", ["db", "upgrade", "x"], "extra argument"),
        c("db current extra", ["db", "current", "x"], "extra argument"),
        # sandbox
        c("sandbox no sub-command", ["sandbox"], "missing command"),
        c("sandbox posts limit 0", ["sandbox", "posts", "--limit", "0"], "--limit"),
        c("sandbox posts limit text", ["sandbox", "posts", "--limit", "many"], "--limit"),
        c("sandbox posts corrupt state", ["sandbox", "posts", "--state", str(corrupt)], "cannot be used"),
        c(
            "sandbox accounts corrupt state",
            ["sandbox", "accounts", "--state", str(corrupt)],
            "cannot be used",
        ),
        c(
            "sandbox reset state below a file",
            ["sandbox", "reset", "--state", below_file],
            "cannot be written",
        ),
        c("sandbox reset state is a folder", ["sandbox", "reset", "--state", str(tmp)], "is a folder"),
        c("sandbox fault missing kind", ["sandbox", "fault"], "Missing argument"),
        c(
            "sandbox fault unknown kind",
            ["sandbox", "fault", "meteor", "--state", str(tmp / "s1.sqlite3")],
            "meteor",
        ),
        c(
            "sandbox fault params not json",
            ["sandbox", "fault", "http_500", "--params", "{", "--state", str(tmp / "s2.sqlite3")],
            "--params",
        ),
        c(
            "sandbox fault params a list",
            ["sandbox", "fault", "http_500", "--params", "[1]", "--state", str(tmp / "s3.sqlite3")],
            "--params",
        ),
        c(
            "sandbox fault prob nan",
            ["sandbox", "fault", "http_500", "--prob", "nan", "--state", str(tmp / "s4.sqlite3")],
            "prob",
        ),
        c(
            "sandbox fault prob 2",
            ["sandbox", "fault", "http_500", "--prob", "2", "--state", str(tmp / "s5.sqlite3")],
            "prob",
        ),
        c(
            "sandbox fault next negative",
            ["sandbox", "fault", "http_500", "--next", "-3", "--state", str(tmp / "s6.sqlite3")],
            "next",
        ),
        c("sandbox serve port", ["sandbox", "serve", "--port", "70000"], "--port"),
        c(
            "sandbox serve session file below a file",
            ["sandbox", "serve", "--port", "0", "--session-file", below_file],
            "--session-file",
        ),
        c(
            "sandbox serve state corrupt",
            ["sandbox", "serve", "--port", "0", "--state", str(corrupt)],
            "cannot",
        ),
    ]


STORE_VARIABLES = ("XBOT_DATABASE_URL", "XBOT_DAGSTER_PG_URL")


def _refused(env: dict[str, str]) -> bool:
    try:
        load_settings(env)
    except SettingsError:
        return True
    return False


def _store_sensitive(var: str, value: str, tmp: Path) -> bool:
    """The case's verdict could depend on which store is configured."""
    sqlite = {"XBOT_HOME": str(tmp / "home"), "XBOT_DATABASE_URL": f"sqlite:///{tmp}/x.sqlite3"}
    postgres = {**sqlite, "XBOT_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"}
    return var in STORE_VARIABLES or _refused({**sqlite, var: value}) != _refused({**postgres, var: value})


def _env_cases(tmp: Path, base: dict[str, str]) -> list[Case]:
    """Per variable: invalid UTF-8, plus each candidate value the settings refuse; and the paths."""
    cases = [Case(f"{var} not utf-8", ["status"], var, {var: BAD_UTF8}) for var in sorted(known_variables())]
    for var in sorted(known_variables()):
        first = True
        for value in BAD_VALUES:
            if not _refused({**base, var: value}):
                continue
            if first or BACKEND != "postgres" or _store_sensitive(var, value, tmp):
                cases.append(Case(f"{var}={value[:12]!r}", ["status"], var, {var: value}))
            first = False
    a_file = tmp / "home-is-a-file"
    a_file.write_text("x")
    cases += [
        Case("XBOT_HOME a file", ["status"], "XBOT_HOME", {"XBOT_HOME": str(a_file)}),
        Case("XBOT_HOME below a file", ["status"], "XBOT_HOME", {"XBOT_HOME": str(a_file / "home")}),
        Case(
            "sqlite store in a missing folder",
            ["status"],
            "XBOT_DATABASE_URL",
            {"XBOT_DATABASE_URL": f"sqlite:///{tmp}/nonexistent/dir/x.db"},
        ),
        Case(
            "sqlite store below a file",
            ["status"],
            "XBOT_DATABASE_URL",
            {"XBOT_DATABASE_URL": f"sqlite:///{a_file}/x.db"},
        ),
    ]
    return cases


@pytest.fixture
def seeded(store, settings):
    """The store every case must leave alone: an account and one queued post."""
    ensure_account(store, "main", publisher="api")
    enqueue(store, "main", "single", "hello")
    return store


def _check(cases: list[Case], settings, store, tmp_path: Path) -> None:
    base = {"XBOT_HOME": str(settings.home), "XBOT_DATABASE_URL": settings.database_url}
    before = store_digest(store)
    results = run_cases(cases, base, tmp_path)
    assert store_digest(store) == before, "a refused command changed the store"
    problems = [p for case, r in zip(cases, results, strict=True) if (p := one_line_failure(case, r))]
    assert not problems, "\n".join(problems)


def test_every_command_refuses_bad_input_with_one_line(seeded, settings, tmp_path):
    cases = _command_cases(tmp_path)
    covered = {
        " ".join(a for a in case.argv[:2] if isinstance(a, str) and not a.startswith("-")) for case in cases
    }
    missing = [
        p
        for p in _command_paths()
        if not any(c == p or c.startswith(p + " ") or (c == p.split()[0] and " " not in p) for c in covered)
    ]
    assert not missing, f"commands without a bad-input case: {missing}"
    _check(cases, settings, seeded, tmp_path)


def test_every_variable_refuses_bad_values_with_one_line(seeded, settings, tmp_path):
    base = {"XBOT_HOME": str(settings.home), "XBOT_DATABASE_URL": settings.database_url}
    cases = _env_cases(tmp_path, base)
    assert {c.expect for c in cases} >= known_variables()
    _check(cases, settings, seeded, tmp_path)


def test_a_corrupt_sqlite_store_is_one_line(tmp_path):
    corrupt = tmp_path / "store.sqlite3"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4096)
    cases = [
        Case(
            "status on a corrupt store",
            ["status"],
            "store cannot be used",
            {"XBOT_DATABASE_URL": f"sqlite:///{corrupt}"},
        ),
        Case(
            "db current on a corrupt store",
            ["db", "current"],
            "store cannot be used",
            {"XBOT_DATABASE_URL": f"sqlite:///{corrupt}"},
        ),
    ]
    home = tmp_path / "home"
    results = run_cases(cases, {"XBOT_HOME": str(home)}, tmp_path)
    problems = [p for case, r in zip(cases, results, strict=True) if (p := one_line_failure(case, r))]
    assert not problems, "\n".join(problems)
    with pytest.raises(sqlite3.DatabaseError):  # still corrupt: nothing tried to "fix" it
        sqlite3.connect(corrupt).execute("select * from sqlite_master").fetchall()
