"""The stand-in's durable state: its own SQLite file (accounts, posts, sessions, faults, rate counters).

Deliberately separate from the operational store: the stand-in plays X, and X's data is not ours.
All access goes through one lock, so the server thread, the CLI and tests can share a file safely.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from xbot_pipeline.clock import Clock, SystemClock

TWITTER_EPOCH_MS = 1288834974657
DEFAULT_ACCOUNTS = (  # handle, numeric user id, password, followers
    ("xbot_demo", "1700000000000000001", "demo-password", 1000),
    ("xbot_second", "1700000000000000002", "second-password", 400),
    ("xbot_third", "1700000000000000003", "third-password", 2500),
)
FAULT_KINDS = (
    "http_500",  # api + web create: 500 before anything is created
    "rate_limit",  # api + web create: 429 (code 88) with a reset time
    "hang",  # api + web create: no answer for params.seconds (default 30), nothing created
    "missing_id",  # api + web create: created, answer without the id (web: no toast link either)
    "drop",  # api + web create: created, then the connection is dropped mid-answer
    # (both take params.hide_s: the post stays off timelines that long, as when X's timeline lags)
    "duplicate",  # api + web create: rejected as duplicate content (403 / GraphQL code 187)
    "automation",  # api + web create: rejected with 226 ("looks automated")
    "session_expired",  # api: 401; web: logged out (redirect to login)
    "consent",  # web pages: a consent layer covers the page (params.sticky: cannot be dismissed)
    "alt_layout",  # web pages: the composer in an alternate layout (other testids)
    "slow_button",  # web pages: the post button enables params.seconds (default 1.5) after typing
)
CREATE_FAULTS = ("http_500", "rate_limit", "hang", "missing_id", "drop", "duplicate", "automation")
PAGE_FAULTS = ("session_expired", "consent", "alt_layout", "slow_button")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
  user_id TEXT PRIMARY KEY, handle TEXT UNIQUE NOT NULL, password TEXT NOT NULL,
  token TEXT UNIQUE NOT NULL, followers INTEGER NOT NULL DEFAULT 1000);
CREATE TABLE IF NOT EXISTS posts (
  id TEXT PRIMARY KEY, author_id TEXT NOT NULL, text TEXT NOT NULL, norm TEXT NOT NULL,
  parent_id TEXT, created_at TEXT NOT NULL, channel TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_posts_author ON posts(author_id, created_at);
CREATE TABLE IF NOT EXISTS sessions (auth_token TEXT PRIMARY KEY, ct0 TEXT NOT NULL, user_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, account TEXT, prob REAL,
  remaining INTEGER, params TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS calls (user_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hidden (post_id TEXT PRIMARY KEY, until TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Account:
    user_id: str
    handle: str
    password: str
    token: str
    followers: int


@dataclass(frozen=True)
class Fault:
    id: int
    kind: str
    account: str | None
    prob: float | None
    remaining: int | None
    params: dict[str, Any]


def normalize(text: str) -> str:
    """How the stand-in recognises duplicate text: NFKC, case-folded, spaces collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


class SandboxState:
    def __init__(self, path: Path | str, *, clock: Clock | None = None, seed: int = 0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.executescript(_SCHEMA)
        self._rng = random.Random(seed)
        self._last_id = 0
        if not self._db.execute("SELECT 1 FROM meta WHERE key = 'seed'").fetchone():
            self._db.execute("INSERT INTO meta VALUES ('seed', ?)", (str(seed),))
        self.seed = int(self._db.execute("SELECT value FROM meta WHERE key = 'seed'").fetchone()[0])
        for handle, user_id, password, followers in DEFAULT_ACCOUNTS:
            self.add_account(handle, user_id=user_id, password=password, followers=followers)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- accounts ---------------------------------------------------------------------------------
    def add_account(
        self, handle: str, *, user_id: str, password: str, followers: int = 1000, token: str | None = None
    ) -> Account:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO accounts VALUES (?, ?, ?, ?, ?)",
                (user_id, handle, password, token or f"sbx-{secrets.token_urlsafe(24)}", followers),
            )
        account = self.account(handle)
        assert account is not None
        return account

    def accounts(self) -> list[Account]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM accounts ORDER BY user_id").fetchall()
        return [Account(**dict(r)) for r in rows]

    def account(self, handle_or_id: str) -> Account | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM accounts WHERE lower(handle) = lower(?) OR user_id = ?",
                (handle_or_id, handle_or_id),
            ).fetchone()
        return Account(**dict(row)) if row else None

    def account_by_token(self, token: str) -> Account | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM accounts WHERE token = ?", (token,)).fetchone()
        return Account(**dict(row)) if row else None

    # -- sessions (web) -----------------------------------------------------------------------------
    def new_session(self, account: Account) -> tuple[str, str]:
        auth_token, ct0 = secrets.token_hex(20), secrets.token_hex(32)
        with self._lock:
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (auth_token, ct0, account.user_id))
        return auth_token, ct0

    def session_account(self, auth_token: str | None) -> tuple[Account, str] | None:
        if not auth_token:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT a.*, s.ct0 AS ct0 FROM sessions s JOIN accounts a ON a.user_id = s.user_id "
                "WHERE s.auth_token = ?",
                (auth_token,),
            ).fetchone()
        if not row:
            return None
        data = dict(row)
        ct0 = data.pop("ct0")
        return Account(**data), ct0

    def logout_all(self) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM sessions").rowcount

    # -- posts ------------------------------------------------------------------------------------------
    def next_id(self, now: datetime) -> str:
        """A snowflake: milliseconds since X's epoch in the high bits, then worker and sequence bits."""
        with self._lock:
            ms = int(now.timestamp() * 1000) - TWITTER_EPOCH_MS
            candidate = (ms << 22) | (1 << 12) | self._rng.randrange(1 << 10)
            self._last_id = max(candidate, self._last_id + 1)
            return str(self._last_id)

    def is_duplicate(self, account: Account, text: str, window: timedelta = timedelta(hours=24)) -> bool:
        since = _iso(self.clock.now() - window)
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM posts WHERE author_id = ? AND norm = ? AND created_at >= ?",
                (account.user_id, normalize(text), since),
            ).fetchone()
        return row is not None

    def create_post(self, account: Account, text: str, parent_id: str | None, channel: str) -> dict[str, Any]:
        now = self.clock.now()
        with self._lock:
            post_id = self.next_id(now)
            self._db.execute(
                "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (post_id, account.user_id, text, normalize(text), parent_id, _iso(now), channel),
            )
        return {"id": post_id, "text": text, "parent_id": parent_id, "created_at": now}

    def post(self, post_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT p.*, a.handle, a.followers FROM posts p JOIN accounts a ON a.user_id = p.author_id "
                "WHERE p.id = ?",
                (post_id,),
            ).fetchone()
        return self._post(row) if row else None

    def hide(self, post_id: str, seconds: float) -> None:
        """Keep a live post off timelines for a while (X's timelines lag behind the write)."""
        until = _iso(self.clock.now() + timedelta(seconds=seconds))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO hidden VALUES (?, ?)", (post_id, until))

    def posts(
        self, account: Account | None = None, limit: int | None = None, *, timeline: bool = False
    ) -> list[dict[str, Any]]:
        """Posts newest first (one account's, or everyone's; all of them unless ``limit``); ``timeline``
        leaves out hidden ones."""
        where, args = ("WHERE p.author_id = ?", [account.user_id]) if account else ("WHERE 1 = 1", [])
        if timeline:
            where += " AND p.id NOT IN (SELECT post_id FROM hidden WHERE until > ?)"
            args.append(_iso(self.clock.now()))
        with self._lock:
            rows = self._db.execute(
                "SELECT p.*, a.handle, a.followers FROM posts p JOIN accounts a ON a.user_id = p.author_id "
                f"{where} ORDER BY p.created_at DESC, length(p.id) DESC, p.id DESC LIMIT ?",
                [*args, -1 if limit is None else limit],  # SQLite: LIMIT -1 is no limit
            ).fetchall()
        return [self._post(r) for r in rows]

    def post_count(self, account: Account) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM posts WHERE author_id = ?", (account.user_id,))
            return int(row.fetchone()[0])

    def is_thread_post(self, post: dict[str, Any]) -> bool:
        """Part of a self-reply chain (a thread) rather than a lone post."""
        with self._lock:
            if post["parent_id"]:
                parent = self._db.execute(
                    "SELECT author_id FROM posts WHERE id = ?", (post["parent_id"],)
                ).fetchone()
                if parent and parent["author_id"] == post["author_id"]:
                    return True
            child = self._db.execute(
                "SELECT 1 FROM posts WHERE parent_id = ? AND author_id = ?", (post["id"], post["author_id"])
            ).fetchone()
        return child is not None

    @staticmethod
    def _post(row: sqlite3.Row) -> dict[str, Any]:
        data = dict(row)
        data.pop("norm", None)
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        return data

    # -- faults -------------------------------------------------------------------------------------------
    def add_fault(
        self,
        kind: str,
        *,
        prob: float | None = None,
        next_n: int | None = None,
        account: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        if (prob is None) == (next_n is None):
            raise ValueError("give exactly one of prob (0..1) or next (a count)")
        if prob is not None and not 0 <= prob <= 1:
            raise ValueError(f"prob must be between 0 and 1, got {prob}")
        if next_n is not None and next_n < 1:
            raise ValueError(f"next must be at least 1, got {next_n}")
        if account is not None and self.account(account) is None:
            raise ValueError(f"unknown sandbox account {account!r}")
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO faults (kind, account, prob, remaining, params) VALUES (?, ?, ?, ?, ?)",
                (kind, account.lower() if account else None, prob, next_n, json.dumps(params or {})),
            )
            fault_id = int(cur.lastrowid or 0)
        return Fault(fault_id, kind, account, prob, next_n, params or {})

    def faults(self) -> list[Fault]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM faults ORDER BY id").fetchall()
        return [
            Fault(r["id"], r["kind"], r["account"], r["prob"], r["remaining"], json.loads(r["params"]))
            for r in rows
        ]

    def clear_faults(self) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM faults").rowcount

    def take_fault(self, kinds: tuple[str, ...], account: Account | None) -> Fault | None:
        """The fault (if any) that fires now for one of ``kinds``: scripted ones first, then probabilities."""
        handle = account.handle.lower() if account else None
        with self._lock:
            for fault in self.faults():
                if fault.kind not in kinds or (fault.account and fault.account != handle):
                    continue
                if int(fault.params.get("skip", 0)) > 0:  # let this many matching calls pass first
                    params = {**fault.params, "skip": int(fault.params["skip"]) - 1}
                    self._db.execute(
                        "UPDATE faults SET params = ? WHERE id = ?", (json.dumps(params), fault.id)
                    )
                    continue
                if fault.remaining is not None:
                    if fault.remaining <= 1:
                        self._db.execute("DELETE FROM faults WHERE id = ?", (fault.id,))
                    else:
                        self._db.execute(
                            "UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (fault.id,)
                        )
                    return fault
            for fault in self.faults():
                if fault.kind not in kinds or (fault.account and fault.account != handle):
                    continue
                if fault.prob is not None and self._rng.random() < fault.prob:
                    return fault
        return None

    # -- rate counters ---------------------------------------------------------------------------------
    def count_call(self, account: Account, kind: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO calls VALUES (?, ?, ?)", (account.user_id, kind, _iso(self.clock.now()))
            )

    def calls_since(self, account: Account, kind: str, since: datetime) -> list[datetime]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at FROM calls WHERE user_id = ? AND kind = ? AND at >= ? ORDER BY at",
                (account.user_id, kind, _iso(since)),
            ).fetchall()
        return [datetime.fromisoformat(r["at"]) for r in rows]

    # -- reset -----------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget posts, faults and counters; keep accounts, tokens and sessions (see ``logout_all``)."""
        with self._lock:
            for table in ("posts", "faults", "calls", "hidden"):
                self._db.execute(f"DELETE FROM {table}")
