"""SQLite FTS5 with BM25 ranking, in the store's own file: the engine without a second folder.

Kept as the alternative to tantivy (``LANGZHONG_ENGINE=fts5``): nothing beside the one database
file, no extra dependency, but its latency grows with the corpus (docs/engine.md).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from langzhong.index.base import IndexDoc
from langzhong.text.hashing import term_hashes

TITLE_WEIGHT = 2.0
BODY_WEIGHT = 1.0


def _phrase(term: str) -> str:
    """A term as an FTS5 string literal: operators and quotes inside it lose their meaning."""
    return '"' + term.replace('"', '""') + '"'


class Fts5Index:
    """Terms are stored space-separated; FTS5's unicode61 tokenizer splits them back."""

    name = "fts5"
    shared = False
    holds_vectors = False

    def __init__(self, path: Path) -> None:
        self.conn = self._connect(path)
        self.lock = threading.RLock()
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(
            "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5("
            " title, body, tokenize='unicode61 remove_diacritics 0');"
            "CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, row);"
            # Counting an FTS5 table scans it: the count and the checkpoint are kept
            # here, in the index's own transactions.
            "CREATE TABLE IF NOT EXISTS fts_state (one INTEGER PRIMARY KEY, n INTEGER,"
            " checkpoint TEXT);"
            "INSERT OR IGNORE INTO fts_state SELECT 1, count(*), '' FROM fts;"
        )
        # Searches read through their own connection: they see only what was committed.
        self.reader = self._connect(path)
        self.read_lock = threading.Lock()
        self._closed = False

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)

    def _write(self, sql: str, args: tuple = ()) -> int:
        with self.lock:
            if not self.conn.in_transaction:
                self.conn.execute("BEGIN IMMEDIATE")
            return self.conn.execute(sql, args).rowcount

    def claim(self) -> None:
        """Nothing to take: SQLite lets one writer at a time into the shared file, and taking
        its lock here would block the store's own transaction that follows."""

    def upsert(self, doc: IndexDoc) -> None:
        replaced = self._write("DELETE FROM fts WHERE rowid=?", (doc.key,))
        self._write(
            "INSERT INTO fts (rowid, title, body) VALUES (?,?,?)",
            (doc.key, " ".join(doc.title_terms), " ".join(doc.body_terms)),
        )
        if not replaced:
            self._write("UPDATE fts_state SET n = n + 1")

    def delete(self, key: int) -> None:
        if self._write("DELETE FROM fts WHERE rowid=?", (key,)):
            self._write("UPDATE fts_state SET n = n - 1")

    def clear(self) -> None:
        self._write("DELETE FROM fts")
        self._write("UPDATE fts_state SET n = 0")

    def commit(self, checkpoint: str) -> None:
        with self.lock:
            self._write("UPDATE fts_state SET checkpoint=?", (checkpoint,))
            self.conn.execute("COMMIT")

    def checkpoint(self) -> str:
        return self._read("SELECT checkpoint FROM fts_state")[0][0]

    def _read(self, sql: str, args: Sequence = ()) -> list[tuple]:
        with self.read_lock:
            return self.reader.execute(sql, args).fetchall()

    def search(self, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        if not terms or limit <= 0:
            return []
        query = " OR ".join(_phrase(t) for t in terms)  # bm25() sums over repeated phrases too
        rows = self._read(
            "SELECT rowid, -bm25(fts, ?, ?) AS score FROM fts WHERE fts MATCH ?"
            " ORDER BY bm25(fts, ?, ?) LIMIT ?",
            (TITLE_WEIGHT, BODY_WEIGHT, query, TITLE_WEIGHT, BODY_WEIGHT, limit),
        )
        return [(rowid, score) for rowid, score in rows if score > 0]

    def doc_count(self) -> int:
        return self._read("SELECT n FROM fts_state")[0][0]

    def term_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        unique = list(dict.fromkeys(terms))
        marks = ",".join("?" * len(unique))
        with self.read_lock:
            self.reader.execute("BEGIN")  # both counts from one snapshot
            try:
                total = self.reader.execute("SELECT n FROM fts_state").fetchone()[0]
                freqs = self.reader.execute(
                    f"SELECT term, doc FROM fts_vocab WHERE term IN ({marks})", unique
                ).fetchall()
            finally:
                self.reader.execute("COMMIT")
        return total, dict(freqs)

    def doc_term_hashes(self, keys: Sequence[int]) -> dict[int, np.ndarray]:
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = self._read(f"SELECT rowid, title, body FROM fts WHERE rowid IN ({marks})", keys)
        return {key: term_hashes(f"{title} {body}".split()) for key, title, body in rows}

    def release(self) -> None:
        """SQLite serialises writers itself; only what was never committed is dropped."""
        with self.lock:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")

    def close(self) -> None:
        """Closing twice is harmless."""
        with self.lock:
            if self._closed:
                return
            self.release()
            self.reader.close()
            self.conn.close()
            self._closed = True
