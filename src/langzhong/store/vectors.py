"""Each article's sentence-embedding vector, kept in the store beside the article.

Vectors are derived data like the lexical index, but a million of them cost days of CPU to
remake, so they live in the system of record (backed up and moved with it) rather than in a
folder one ``rm`` loses. The queue of work is a query, not a log: an article whose vector is
missing, or was made from other content (its ``content_hash`` changed), is pending. A killed
``langzhong embed`` therefore resumes where it stopped, and a vector is never stale unnoticed.

Readers (each server process's in-memory matrix, ``index/dense.py``) follow ``seq``: every
write of vectors or removals takes the next number, so a reader loads only what changed. Where
the shared index holds the vectors (Milvus), a vector written or removed is logged as a change
of its article instead, and the index writer carries it there with the article.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from langzhong.embed.vectors import quantize
from langzhong.store.sqlite import ArticleStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    article INTEGER PRIMARY KEY,  -- the article's rowid
    content_hash TEXT NOT NULL,   -- of the content the vector was made from
    codes {blob} NOT NULL,        -- int8, one per dimension
    scale REAL NOT NULL,          -- codes × scale ≈ the unit vector
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_seq ON vectors(seq);
CREATE TABLE IF NOT EXISTS vector_removals (article INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
"""
PENDING = (
    "SELECT a.rowid FROM articles a LEFT JOIN vectors v ON v.article = a.rowid"
    " WHERE (v.article IS NULL OR v.content_hash != a.content_hash)"
)
PUT = (
    "INSERT INTO vectors VALUES (?,?,?,?,?) ON CONFLICT(article) DO UPDATE SET"
    " content_hash=excluded.content_hash, codes=excluded.codes, scale=excluded.scale,"
    " seq=excluded.seq"
)
MODEL_KEY = "vectors_model"  # the weights' hash: vectors of other weights are never mixed in
SEQ_KEY = "vectors_seq"


class VectorTable:
    def __init__(self, store: ArticleStore) -> None:
        self.store = store  # the tables are made by the first write: reading needs none

    def adopt_model(self, model_hash: str) -> None:
        """Vectors made by other weights are forgotten: every article becomes pending."""
        if self.store.meta(MODEL_KEY) == model_hash:
            return
        with self.store.transaction() as conn:
            for statement in filter(str.strip, SCHEMA.format(**self.store.TYPES).split(";")):
                conn.execute(statement)  # executescript would commit the transaction
            seq = self._next_seq(conn)
            conn.execute(
                "INSERT INTO vector_removals SELECT article, ? FROM vectors WHERE true"
                " ON CONFLICT(article) DO UPDATE SET seq=excluded.seq",
                (seq,),
            )
            conn.execute("DELETE FROM vectors")
            self.store.set_meta(MODEL_KEY, model_hash)
            if self.store.index_holds_vectors():
                self.store.relog_all()

    def pending(self, after: int, limit: int) -> list[int]:
        """Rowids (above ``after``) of articles without a vector of their current content, in
        rowid order (call ``adopt_model`` first)."""
        query = f"{PENDING} AND a.rowid > ? ORDER BY a.rowid LIMIT ?"
        return [rowid for (rowid,) in self.store.reader().execute(query, (after, limit))]

    def put(self, rows: Sequence[tuple[int, str]], vectors: np.ndarray) -> None:
        """Store the vectors of (rowid, content hash) rows, in one transaction. A row whose
        article changed or left since it was read is skipped: it stays pending."""
        codes, scales = quantize(vectors)
        with self.store.transaction() as conn:
            current = dict(
                conn.execute(
                    f"SELECT rowid, content_hash FROM articles WHERE rowid IN"
                    f" ({','.join('?' * len(rows))})",
                    [rowid for rowid, _ in rows],
                ).fetchall()
            )
            seq = self._next_seq(conn)
            kept = [
                (rowid, digest, codes[i].tobytes(), float(scales[i]), seq)
                for i, (rowid, digest) in enumerate(rows)
                if current.get(rowid) == digest
            ]
            conn.executemany(PUT, kept)
            self._log([row[0] for row in kept])

    def prune(self) -> int:
        """Forget the vectors of deleted articles; returns how many."""
        with self.store.transaction() as conn:
            gone = [
                rowid
                for (rowid,) in conn.execute(
                    "SELECT article FROM vectors WHERE article NOT IN (SELECT rowid FROM articles)"
                )
            ]
            if gone:
                seq = self._next_seq(conn)
                conn.executemany("DELETE FROM vectors WHERE article=?", [(r,) for r in gone])
                conn.executemany(
                    "INSERT INTO vector_removals VALUES (?, ?)"
                    " ON CONFLICT(article) DO UPDATE SET seq=excluded.seq",
                    [(r, seq) for r in gone],
                )
                self._log(gone)
        return len(gone)

    def rows_by_id(self, after: int, limit: int) -> list[tuple[int, str, str, bytes, float]]:
        """(rowid, article id, content hash, codes, scale) of the vectors of the articles after
        rowid ``after``, in rowid order: a copy to another store (whose rowids differ)."""
        query = (
            "SELECT a.rowid, a.id, v.content_hash, v.codes, v.scale FROM vectors v"
            " JOIN articles a ON a.rowid = v.article WHERE a.rowid > ? ORDER BY a.rowid LIMIT ?"
        )
        if not self.store.has_table("vectors"):
            return []
        return [tuple(row) for row in self.store.reader().execute(query, (after, limit))]

    def of_articles(self, ids: Sequence[str]) -> dict[str, tuple[str, bytes, float]]:
        """Article id → (content hash, codes, scale) of the current vectors of these articles."""
        if not ids or not self.store.has_table("vectors"):
            return {}
        query = (
            "SELECT a.id, v.content_hash, v.codes, v.scale FROM vectors v JOIN articles a"
            " ON a.rowid = v.article AND v.content_hash = a.content_hash"
            f" WHERE a.id IN ({','.join('?' * len(ids))})"
        )
        rows = self.store.reader().execute(query, list(ids))
        return {
            article_id: (digest, bytes(codes), scale) for article_id, digest, codes, scale in rows
        }

    def put_codes(self, rows: Sequence[tuple[str, str, bytes, float]]) -> int:
        """Store already quantized vectors by (article id, content hash, codes, scale), each
        only where that article holds that content here; returns how many were stored."""
        if not rows:
            return 0
        with self.store.transaction() as conn:
            ids = [article_id for article_id, *_ in rows]
            found = conn.execute(
                f"SELECT id, rowid, content_hash FROM articles WHERE id IN"
                f" ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
            here = {article_id: (rowid, digest) for article_id, rowid, digest in found}
            seq = self._next_seq(conn)
            kept = [
                (here[article_id][0], digest, bytes(codes), float(scale), seq)
                for article_id, digest, codes, scale in rows
                if here.get(article_id, (0, None))[1] == digest
            ]
            conn.executemany(PUT, kept)
            self._log([row[0] for row in kept])
        return len(kept)

    def current(self, rowids: Sequence[int]) -> dict[int, np.ndarray]:
        """The unit vector of each article among ``rowids`` that has one of its current
        content (for the index that holds them)."""
        if not rowids or not self.store.has_table("vectors"):
            return {}
        marks = ",".join("?" * len(rowids))
        query = (
            "SELECT v.article, v.codes FROM vectors v JOIN articles a ON a.rowid = v.article"
            f" AND a.content_hash = v.content_hash WHERE v.article IN ({marks})"
        )
        found = {}
        for rowid, codes in self.store.reader().execute(query, list(rowids)):
            vector = np.frombuffer(bytes(codes), np.int8).astype(np.float32)
            found[rowid] = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return found

    @staticmethod
    def any(store: ArticleStore) -> bool:
        """Whether any article has a vector (one short read)."""
        if not store.has_table("vectors"):
            return False
        return store.reader().execute("SELECT 1 FROM vectors LIMIT 1").fetchone() is not None

    def _log(self, rowids: list[int]) -> None:
        if rowids and self.store.index_holds_vectors():
            self.store.log_changes(rowids)

    def changed_since(self, seq: int) -> tuple[int, list[tuple[int, bytes, float]], list[int]]:
        """(the newest seq, vectors written after ``seq``, rowids removed after it), read from
        one state of the store."""
        with self.store.snapshot() as conn:
            newest = int(self._read_seq(conn))
            if newest <= seq:
                return seq, [], []
            written = conn.execute(
                "SELECT article, codes, scale FROM vectors WHERE seq > ?", (seq,)
            ).fetchall()
            removals = conn.execute("SELECT article FROM vector_removals WHERE seq > ?", (seq,))
            removed = [rowid for (rowid,) in removals]
        return newest, written, removed

    @staticmethod
    def counts(store: ArticleStore) -> dict[str, int]:
        """Articles with a vector of their current content, and those waiting for one (read
        only: a store that never embedded gets no tables)."""
        one = store.reader().execute
        if not store.has_table("vectors"):
            return {"with_vector": 0, "pending": store.counts()["articles"]}
        pending = one(f"SELECT count(*) FROM ({PENDING}) AS waiting").fetchone()[0]
        return {
            "with_vector": one(
                "SELECT count(*) FROM articles a JOIN vectors v"
                " ON v.article = a.rowid AND v.content_hash = a.content_hash"
            ).fetchone()[0],
            "pending": pending,
        }

    @staticmethod
    def _read_seq(conn: Any) -> str:  # the store's connection: SQLite's or PostgreSQL's
        row = conn.execute("SELECT value FROM meta WHERE key=?", (SEQ_KEY,)).fetchone()
        return row[0] if row else "0"

    def _next_seq(self, conn: Any) -> int:
        seq = int(self._read_seq(conn)) + 1
        self.store.set_meta(SEQ_KEY, str(seq))
        return seq
