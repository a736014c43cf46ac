"""The stand-in's durable state: its own SQLite file (accounts, posts, sessions, faults, rate counters).

Deliberately separate from the operational store: the stand-in plays X, and X's data is not ours.
All access goes through one lock, so the server thread, the CLI and tests can share a file safely.
"""

from __future__ import annotations

import hashlib
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
    "upload_failure",  # api simple upload: 500, nothing stored
    "upload_chunk_failure",  # api chunked append: 500 for one segment, nothing stored for it
    "processing_failure",  # api chunked finalize: the GIF's processing ends "failed" (InvalidMedia)
    "token_500",  # /2/oauth2/token: 500, nothing issued (a refresh token stays valid)
    "token_hang",  # /2/oauth2/token: no answer for params.seconds (default 30), nothing issued
)
TOKEN_FAULTS = ("token_500", "token_hang")
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
CREATE TABLE IF NOT EXISTS media (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, mime TEXT NOT NULL, total_bytes INTEGER NOT NULL,
  data BLOB, state TEXT NOT NULL, fail_processing INTEGER NOT NULL DEFAULT 0, alt_text TEXT,
  sha256 TEXT, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, ready_at TEXT);
CREATE TABLE IF NOT EXISTS media_chunks (
  media_id TEXT NOT NULL, segment INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (media_id, segment));
CREATE TABLE IF NOT EXISTS post_media (
  post_id TEXT NOT NULL, position INTEGER NOT NULL, media_id TEXT NOT NULL, PRIMARY KEY (post_id, position));
"""
MEDIA_STATES = ("uploading", "pending", "succeeded", "failed")


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

    def sql(self, query: str, args: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        """One statement under the state's lock (for the stand-in's other tables: OAuth, ...)."""
        with self._lock:
            return self._db.execute(query, args).fetchall()

    def script(self, statements: str) -> None:
        with self._lock:
            self._db.executescript(statements)

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

    def create_post(
        self,
        account: Account,
        text: str,
        parent_id: str | None,
        channel: str,
        media_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        with self._lock:
            post_id = self.next_id(now)
            self._db.execute(
                "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (post_id, account.user_id, text, normalize(text), parent_id, _iso(now), channel),
            )
            for position, media_id in enumerate(media_ids or []):
                self._db.execute("INSERT INTO post_media VALUES (?, ?, ?)", (post_id, position, media_id))
        return {
            "id": post_id,
            "text": text,
            "parent_id": parent_id,
            "created_at": now,
            "media": self.post_media([post_id]).get(post_id, []),
        }

    def post(self, post_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT p.*, a.handle, a.followers FROM posts p JOIN accounts a ON a.user_id = p.author_id "
                "WHERE p.id = ?",
                (post_id,),
            ).fetchone()
        if not row:
            return None
        post = self._post(row)
        post["media"] = self.post_media([post_id]).get(post_id, [])
        return post

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
        posts = [self._post(r) for r in rows]
        media = self.post_media(None) if posts else {}
        for post in posts:
            post["media"] = media.get(post["id"], [])
        return posts

    # -- media ------------------------------------------------------------------------------------------
    def post_media(self, post_ids: list[str] | None) -> dict[str, list[dict[str, Any]]]:
        """The media of the given posts (all posts: None), in order, without their bytes."""
        where, args = (
            ("", [])
            if post_ids is None
            else (
                f"WHERE pm.post_id IN ({','.join('?' * len(post_ids))})",
                list(post_ids),
            )
        )
        with self._lock:
            rows = self._db.execute(
                "SELECT pm.post_id, pm.position, m.id, m.mime, m.alt_text, m.sha256, m.total_bytes "
                f"FROM post_media pm JOIN media m ON m.id = pm.media_id {where} "
                "ORDER BY pm.post_id, pm.position",
                args,
            ).fetchall()
        out: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r["post_id"], []).append(
                {
                    "media_id": r["id"],
                    "media_key": f"3_{r['id']}",
                    "type": "animated_gif" if r["mime"] == "image/gif" else "photo",
                    "mime": r["mime"],
                    "alt_text": r["alt_text"],
                    "sha256": r["sha256"],
                    "size": r["total_bytes"],
                }
            )
        return out

    def new_media(
        self, account: Account, mime: str, total_bytes: int, lifetime_s: float, data: bytes | None = None
    ) -> dict[str, Any]:
        """A media id: complete when ``data`` is given (simple upload), else waiting for its chunks."""
        now = self.clock.now()
        with self._lock:
            media_id = self.next_id(now)
            self._db.execute(
                "INSERT INTO media (id, user_id, mime, total_bytes, data, state, sha256, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    media_id,
                    account.user_id,
                    mime,
                    total_bytes,
                    data,
                    "succeeded" if data is not None else "uploading",
                    hashlib.sha256(data).hexdigest() if data is not None else None,
                    _iso(now),
                    _iso(now + timedelta(seconds=lifetime_s)),
                ),
            )
        media = self.media(media_id)
        assert media is not None
        return media

    def media(self, media_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM media WHERE id = ?", (media_id,)).fetchone()
        if not row:
            return None
        data = dict(row)
        for key in ("created_at", "expires_at", "ready_at"):
            data[key] = datetime.fromisoformat(data[key]) if data[key] else None
        return data

    def append_chunk(self, media_id: str, segment: int, data: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO media_chunks VALUES (?, ?, ?)", (media_id, segment, data)
            )

    def finalize_media(self, media_id: str, processing_s: float, fail: bool) -> dict[str, Any] | str:
        """Join the chunks; the media, or why it cannot be finalized (X's 400 detail)."""
        with self._lock:
            chunks = self._db.execute(
                "SELECT segment, data FROM media_chunks WHERE media_id = ? ORDER BY segment", (media_id,)
            ).fetchall()
            media = self.media(media_id)
            if media is None or media["state"] != "uploading":
                return "media id is not waiting for chunks"
            if [c["segment"] for c in chunks] != list(range(len(chunks))):
                return "segments are missing"
            data = b"".join(c["data"] for c in chunks)
            if len(data) != media["total_bytes"]:
                return f"got {len(data)} bytes of {media['total_bytes']}"
            ready = self.clock.now() + timedelta(seconds=processing_s)
            self._db.execute(
                "UPDATE media SET data = ?, sha256 = ?, state = 'pending', fail_processing = ?, ready_at = ? "
                "WHERE id = ?",
                (data, hashlib.sha256(data).hexdigest(), int(fail), _iso(ready), media_id),
            )
            self._db.execute("DELETE FROM media_chunks WHERE media_id = ?", (media_id,))
        return self.media_status(media_id) or "gone"

    def media_status(self, media_id: str) -> dict[str, Any] | None:
        """The media with its processing settled if its time has come."""
        media = self.media(media_id)
        if media is None:
            return None
        if media["state"] == "pending" and media["ready_at"] and media["ready_at"] <= self.clock.now():
            state = "failed" if media["fail_processing"] else "succeeded"
            with self._lock:
                self._db.execute("UPDATE media SET state = ? WHERE id = ?", (state, media_id))
            media["state"] = state
        return media

    def set_alt_text(self, media_id: str, alt: str) -> None:
        with self._lock:
            self._db.execute("UPDATE media SET alt_text = ? WHERE id = ?", (alt, media_id))

    def usable_media(self, account: Account, media_ids: list[str]) -> str | None:
        """None when every id may be attached now (owned, processed, not expired), else why not."""
        if len(media_ids) > 4:
            return "at most 4 media per post"
        found = [self.media_status(m) for m in media_ids]
        now = self.clock.now()
        for media_id, media in zip(media_ids, found, strict=True):
            if media is None or media["user_id"] != account.user_id:
                return f"media id {media_id} is unknown"
            if media["expires_at"] <= now:
                return f"media id {media_id} has expired"
            if media["state"] != "succeeded":
                return f"media id {media_id} is {media['state']}"
        if len(found) > 1 and any(m and m["mime"] == "image/gif" for m in found):
            return "a GIF cannot be combined with other media"
        return None

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

    def calls_of_users_since(self, user_ids: list[str], kind: str, since: datetime) -> list[datetime]:
        """Calls of ``kind`` by any of ``user_ids`` since ``since``, oldest first (an app's shared cap)."""
        if not user_ids:
            return []
        marks = ", ".join("?" for _ in user_ids)
        with self._lock:
            rows = self._db.execute(
                f"SELECT at FROM calls WHERE user_id IN ({marks}) AND kind = ? AND at >= ? ORDER BY at",
                (*user_ids, kind, _iso(since)),
            ).fetchall()
        return [datetime.fromisoformat(r["at"]) for r in rows]

    # -- reset -----------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget posts, faults and counters; keep accounts, tokens and sessions (see ``logout_all``)."""
        with self._lock:
            for table in ("posts", "faults", "calls", "hidden", "media", "media_chunks", "post_media"):
                self._db.execute(f"DELETE FROM {table}")
