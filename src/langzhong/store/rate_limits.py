"""Searches per client per minute, counted where every worker of every server meets: in the
shared PostgreSQL store (an unlogged table: counters need no crash safety), or for an embedded
store in a small SQLite file beside it (so that a search never waits for an ingest's write
lock). One worker counting alone let a client make the limit times the workers times the
servers.

Each client has a token bucket (the limit a minute, bursts up to the limit), taken and refilled
in one statement, so two servers counting the same client at once never both spend its last
token. Amounts are thousandths of a token and times milliseconds: integer arithmetic, the same
on both databases. The servers' clocks are assumed to agree (NTP).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from langzhong.store.sqlite import ArticleStore, StoreError

TABLE = """
CREATE {unlogged} TABLE IF NOT EXISTS rate_limits (
    client TEXT PRIMARY KEY,
    tokens {int64} NOT NULL,   -- thousandths of a token left at ``at``
    at {int64} NOT NULL,       -- milliseconds since the epoch
    allowed INTEGER NOT NULL   -- whether the last request took a token
)
"""
FORGET_EVERY_S = 60.0  # clients idle for a minute (a full bucket again) are forgotten this often
FILE_NAME = "rate-limits.sqlite3"


def _take(rate_per_minute: int) -> str:
    """The statement that spends one token of a client's bucket, refilled since its last
    request, and answers whether it could (parameters: client, a full bucket less one, now)."""
    full = rate_per_minute * 1000
    refilled = (
        f"CASE WHEN rate_limits.tokens + (excluded.at - rate_limits.at) * {rate_per_minute} / 60"
        f" > {full} THEN {full} ELSE rate_limits.tokens"
        f" + (excluded.at - rate_limits.at) * {rate_per_minute} / 60 END"
    )
    return (
        "INSERT INTO rate_limits (client, tokens, at, allowed) VALUES (?, ?, ?, 1)"
        " ON CONFLICT (client) DO UPDATE SET"
        f" tokens = CASE WHEN {refilled} >= 1000 THEN {refilled} - 1000 ELSE {refilled} END,"
        f" allowed = CASE WHEN {refilled} >= 1000 THEN 1 ELSE 0 END,"
        " at = excluded.at"
        " RETURNING allowed"
    )


class SharedBuckets:
    """``take(client)``: whether the client may search now, counted with all other servers."""

    def __init__(self, store: ArticleStore, rate_per_minute: int) -> None:
        self.rate = rate_per_minute
        self._statement = _take(rate_per_minute)
        self._lock = threading.Lock()
        self._forgot = time.monotonic()
        if store.shared:
            from langzhong.store.postgres import PostgresConnection, PostgresStore

            assert isinstance(store, PostgresStore)  # the one shared store
            self._conn: Any = PostgresConnection(store.url)
        else:
            self._conn = _embedded(store.path.with_name(FILE_NAME))

    def take(self, client: str) -> bool:
        now = int(time.time() * 1000)
        try:
            with self._lock:
                row = self._conn.execute(
                    self._statement, (client, self.rate * 1000 - 1000, now)
                ).fetchone()
                if time.monotonic() - self._forgot > FORGET_EVERY_S:
                    self._conn.execute("DELETE FROM rate_limits WHERE at < ?", (now - 60_000,))
                    self._forgot = time.monotonic()
        except (StoreError, sqlite3.Error):
            return True  # open: the search itself then reports a store that is down (503)
        return bool(row[0])

    def close(self) -> None:
        self._conn.close()


def _embedded(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # counters: losing the last second's is harmless
    conn.execute(TABLE.format(unlogged="", int64="INTEGER"))
    return conn
