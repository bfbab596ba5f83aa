"""SQLite storage of the reference Server: JSON documents by kind, plus tokens and codes.

One connection per thread (the stubs run backend methods in worker threads); writes run in
``BEGIN IMMEDIATE`` transactions, so concurrent writers queue instead of overwriting each
other. The database file persists across restarts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    doc BLOB NOT NULL,
    private BLOB NOT NULL DEFAULT '{}',
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_owner ON objects (kind, owner);
CREATE TABLE IF NOT EXISTS usage_values (id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS file_contents (id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL,
    credential_id TEXT,
    scopes BLOB NOT NULL,
    grant_ids BLOB NOT NULL,
    authorization_details BLOB NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0,
    family TEXT
);
CREATE INDEX IF NOT EXISTS tokens_credential ON tokens (credential_id);
CREATE INDEX IF NOT EXISTS tokens_client ON tokens (client_id, kind);
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL,
    data BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rate_buckets (
    name TEXT NOT NULL,
    who TEXT NOT NULL,
    level REAL NOT NULL,
    since REAL NOT NULL,
    PRIMARY KEY (name, who)
) WITHOUT ROWID;
"""


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits, which JSON allows
        return json.dumps(value, separators=(",", ":")).encode()


def loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # written by the json fallback of dumps
        return json.loads(data)


class Store:
    """The database at ``path``, created on first use."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._local = threading.local()
        self.db().executescript(SCHEMA)

    def db(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use :meth:`write` for changes)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; other writers wait until it commits."""
        db = self.db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- documents -------------------------------------------------------------------------
    @staticmethod
    def put(
        db: sqlite3.Connection,
        kind: str,
        id: str,
        doc: dict,
        *,
        owner: str = "",
        private: dict | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO objects (kind, id, owner, doc, private) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, id) DO UPDATE SET owner = excluded.owner, doc = excluded.doc, "
            "private = excluded.private",
            (kind, id, owner, dumps(doc), dumps(private or {})),
        )

    def get(
        self, kind: str, id: str, db: sqlite3.Connection | None = None
    ) -> tuple[dict, str, dict] | None:
        """``(doc, owner, private)`` of one document, or ``None``."""
        row = (
            (db or self.db())
            .execute(
                "SELECT doc, owner, private FROM objects WHERE kind = ? AND id = ?", (kind, id)
            )
            .fetchone()
        )
        return (loads(row[0]), row[1], loads(row[2])) if row else None

    def doc(self, kind: str, id: str) -> dict | None:
        """One document without its owner and private part (parsed only when asked for)."""
        row = (
            self.db()
            .execute("SELECT doc FROM objects WHERE kind = ? AND id = ?", (kind, id))
            .fetchone()
        )
        return loads(row[0]) if row else None

    def raw(self, kind: str, id: str) -> tuple[bytes, bytes] | None:
        """``(doc, private)`` of one document as stored (JSON), unparsed: a key that changes
        whenever the document does."""
        row = (
            self.db()
            .execute("SELECT doc, private FROM objects WHERE kind = ? AND id = ?", (kind, id))
            .fetchone()
        )
        return (bytes(row[0]), bytes(row[1])) if row else None

    def docs(
        self, kind: str, owner: str | None = None, db: sqlite3.Connection | None = None
    ) -> list[dict]:
        """Documents of a kind (of one owner), oldest first."""
        sql = "SELECT doc FROM objects WHERE kind = ?"
        args: tuple = (kind,)
        if owner is not None:
            sql += " AND owner = ?"
            args += (owner,)
        return [loads(r[0]) for r in (db or self.db()).execute(sql + " ORDER BY rowid", args)]

    def records(
        self, kind: str, owner: str | None = None, db: sqlite3.Connection | None = None
    ) -> list[tuple[dict, str, dict]]:
        """``(doc, owner, private)`` of each document of a kind, oldest first."""
        sql = "SELECT doc, owner, private FROM objects WHERE kind = ?"
        args: tuple = (kind,)
        if owner is not None:
            sql += " AND owner = ?"
            args += (owner,)
        rows = (db or self.db()).execute(sql + " ORDER BY rowid", args)
        return [(loads(r[0]), r[1], loads(r[2])) for r in rows]

    # -- meta --------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None
