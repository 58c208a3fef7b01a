"""SQLite FTS5 with BM25 ranking, in the store's own database file and transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from langzhong.index.base import IndexDoc

TITLE_WEIGHT = 2.0
BODY_WEIGHT = 1.0


def _phrase(term: str) -> str:
    """A term as an FTS5 string literal: operators and quotes inside it lose their meaning."""
    return '"' + term.replace('"', '""') + '"'


class Fts5Index:
    """Terms are stored space-separated; FTS5's unicode61 tokenizer splits them back."""

    name = "fts5"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5("
            "title, body, tokenize='unicode61 remove_diacritics 0')"
        )
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, row)")
        # Counting an FTS5 table scans it; the count is kept here, in the writers' transactions.
        conn.execute("CREATE TABLE IF NOT EXISTS fts_count (one INTEGER PRIMARY KEY, n INTEGER)")
        conn.execute("INSERT OR IGNORE INTO fts_count SELECT 1, count(*) FROM fts")

    def upsert(self, doc: IndexDoc) -> None:
        replaced = self.conn.execute("DELETE FROM fts WHERE rowid=?", (doc.key,)).rowcount
        self.conn.execute(
            "INSERT INTO fts (rowid, title, body) VALUES (?,?,?)",
            (doc.key, " ".join(doc.title_terms), " ".join(doc.body_terms)),
        )
        if not replaced:
            self.conn.execute("UPDATE fts_count SET n = n + 1")

    def delete(self, key: int) -> None:
        if self.conn.execute("DELETE FROM fts WHERE rowid=?", (key,)).rowcount:
            self.conn.execute("UPDATE fts_count SET n = n - 1")

    def search(self, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        if not terms or limit <= 0:
            return []
        query = " OR ".join(_phrase(t) for t in terms)  # bm25() sums over repeated phrases too
        rows = self.conn.execute(
            "SELECT rowid, -bm25(fts, ?, ?) AS score FROM fts WHERE fts MATCH ?"
            " ORDER BY bm25(fts, ?, ?) LIMIT ?",
            (TITLE_WEIGHT, BODY_WEIGHT, query, TITLE_WEIGHT, BODY_WEIGHT, limit),
        ).fetchall()
        return [(rowid, score) for rowid, score in rows if score > 0]

    def doc_count(self) -> int:
        return self.conn.execute("SELECT n FROM fts_count").fetchone()[0]

    def doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        unique = list(dict.fromkeys(terms))
        if not unique:
            return {}
        marks = ",".join("?" * len(unique))
        return dict(
            self.conn.execute(f"SELECT term, doc FROM fts_vocab WHERE term IN ({marks})", unique)
        )

    def doc_terms(self, keys: Sequence[int]) -> dict[int, list[str]]:
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = self.conn.execute(
            f"SELECT rowid, title, body FROM fts WHERE rowid IN ({marks})", list(keys)
        )
        return {key: f"{title} {body}".split() for key, title, body in rows}
