"""The system of record: one SQLite file holding articles, sections, related links and fingerprints.

Lexical indexes that live in the same file (FTS5) share this connection, so an article and its
index entry are committed in one transaction and can never disagree after a crash.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from langzhong.core import Article, RelatedLink, Section

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    source TEXT,
    url TEXT,
    department TEXT,
    lead TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    signature BLOB
);
CREATE INDEX IF NOT EXISTS articles_title ON articles(title);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE TABLE IF NOT EXISTS sections (
    article INTEGER NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    heading TEXT NOT NULL,
    level INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (article, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS links (
    article INTEGER NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    to_title TEXT NOT NULL,
    to_id TEXT,
    PRIMARY KEY (article, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS links_to_title ON links(to_title) WHERE to_id IS NULL;
CREATE TABLE IF NOT EXISTS bands (
    key INTEGER NOT NULL,
    article INTEGER NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    PRIMARY KEY (key, article)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bands_article ON bands(article);
"""


class StoreError(RuntimeError):
    """The database file cannot be used; the message says why."""


class StoredArticle:
    """What the writer needs to know of an article already stored."""

    __slots__ = ("content_hash", "id", "rowid")

    def __init__(self, rowid: int, id: str, content_hash: str) -> None:
        self.rowid, self.id, self.content_hash = rowid, id, content_hash


class ArticleStore:
    """Articles in one SQLite file (WAL mode: readers keep answering while a writer works)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.executescript(SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path}: not a usable langzhong database ({error})") from None
        self.lock = threading.RLock()

    def _check_version(self) -> None:
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self.conn.execute(
                "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif int(row[0]) != SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema version {row[0]}, expected {SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; everything inside is committed together or not at all."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    # -- reading -----------------------------------------------------------------------------

    def lookup(self, article_id: str) -> StoredArticle | None:
        row = self.conn.execute(
            "SELECT rowid, id, content_hash FROM articles WHERE id=?", (article_id,)
        ).fetchone()
        return StoredArticle(*row) if row else None

    def lookup_hash(self, content_hash: str) -> StoredArticle | None:
        row = self.conn.execute(
            "SELECT rowid, id, content_hash FROM articles WHERE content_hash=? LIMIT 1",
            (content_hash,),
        ).fetchone()
        return StoredArticle(*row) if row else None

    def signatures_sharing(self, keys: Sequence[int]) -> list[tuple[StoredArticle, np.ndarray]]:
        """Articles whose MinHash shares at least one band key, with their signatures."""
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self.conn.execute(
            f"SELECT DISTINCT a.rowid, a.id, a.content_hash, a.signature FROM bands b "
            f"JOIN articles a ON a.rowid=b.article WHERE b.key IN ({marks})",
            tuple(keys),
        ).fetchall()
        return [
            (StoredArticle(r, i, h), np.frombuffer(sig, dtype=np.uint64))
            for r, i, h, sig in rows
            if sig is not None
        ]

    def get(self, article_id: str) -> Article | None:
        found = self._load("a.id IN (?)", (article_id,))
        return found[0] if found else None

    def get_by_rowids(self, rowids: Sequence[int]) -> dict[int, Article]:
        if not rowids:
            return {}
        marks = ",".join("?" * len(rowids))
        rows = self._rows(f"a.rowid IN ({marks})", tuple(rowids))
        return {rowid: article for rowid, article in rows}

    def iter_articles(self, batch: int = 500) -> Iterator[Article]:
        """Every article in storage order, a batch of rows at a time."""
        last = 0
        while True:
            rows = self._rows("a.rowid > ? ORDER BY a.rowid LIMIT ?", (last, batch))
            if not rows:
                return
            for _, article in rows:
                yield article
            last = rows[-1][0]

    def _load(self, where: str, args: tuple) -> list[Article]:
        return [article for _, article in self._rows(where, args)]

    def _rows(self, where: str, args: tuple) -> list[tuple[int, Article]]:
        with self.lock:
            heads = self.conn.execute(
                "SELECT a.rowid, a.id, a.kind, a.title, a.date, a.source, a.url, a.department,"
                f" a.lead FROM articles a WHERE {where}",
                args,
            ).fetchall()
            if not heads:
                return []
            rowids = [h[0] for h in heads]
            marks = ",".join("?" * len(rowids))
            sections: dict[int, list[Section]] = {r: [] for r in rowids}
            for article, heading, level, text in self.conn.execute(
                f"SELECT article, heading, level, text FROM sections WHERE article IN ({marks})"
                " ORDER BY article, position",
                rowids,
            ):
                sections[article].append(Section(heading=heading, level=level, text=text))
            links: dict[int, list[RelatedLink]] = {r: [] for r in rowids}
            for article, title, to_id in self.conn.execute(
                f"SELECT article, to_title, to_id FROM links WHERE article IN ({marks})"
                " ORDER BY article, position",
                rowids,
            ):
                links[article].append(RelatedLink(title=title, id=to_id))
        return [
            (
                rowid,
                Article(
                    id=aid,
                    kind=kind,
                    title=title,
                    date=date,
                    source=source,
                    url=url,
                    department=department,
                    lead=lead,
                    sections=tuple(sections[rowid]),
                    related=tuple(links[rowid]),
                ),
            )
            for rowid, aid, kind, title, date, source, url, department, lead in heads
        ]

    def counts(self) -> dict[str, int]:
        one = self.conn.execute
        kinds = dict(one("SELECT kind, count(*) FROM articles GROUP BY kind").fetchall())
        return {
            "articles": sum(kinds.values()),
            "page_articles": kinds.get("article", 0),
            "qa_articles": kinds.get("qa", 0),
            "sections": one("SELECT count(*) FROM sections").fetchone()[0],
            "related_links": one("SELECT count(*) FROM links").fetchone()[0],
            "related_links_resolved": one(
                "SELECT count(*) FROM links WHERE to_id IS NOT NULL"
            ).fetchone()[0],
        }

    # -- writing (inside ``transaction()``) -----------------------------------------------------

    def put(
        self,
        article: Article,
        content_hash: str,
        signature: np.ndarray | None,
        band_keys: Sequence[int],
        existing: StoredArticle | None,
    ) -> int:
        """Insert the article, or replace ``existing`` (the stored row with its id, which the
        caller has already looked up); returns its rowid."""
        conn = self.conn
        values = (
            article.kind,
            article.title,
            article.date,
            article.source,
            article.url,
            article.department,
            article.lead,
            content_hash,
            signature.tobytes() if signature is not None else None,
        )
        if existing:
            rowid = existing.rowid
            conn.execute(
                "UPDATE articles SET kind=?, title=?, date=?, source=?, url=?, department=?,"
                " lead=?, content_hash=?, signature=? WHERE rowid=?",
                (*values, rowid),
            )
            for table in ("sections", "links", "bands"):
                conn.execute(f"DELETE FROM {table} WHERE article=?", (rowid,))
        else:
            rowid = conn.execute(
                "INSERT INTO articles (id, kind, title, date, source, url, department, lead,"
                " content_hash, signature) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (article.id, *values),
            ).lastrowid
        conn.executemany(
            "INSERT INTO sections VALUES (?,?,?,?,?)",
            [(rowid, i, s.heading, s.level, s.text) for i, s in enumerate(article.sections)],
        )
        conn.executemany(
            "INSERT INTO links VALUES (?,?,?,?)",
            [
                (rowid, i, link.title, link.id or self._id_by_title(link.title))
                for i, link in enumerate(article.related)
            ],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO bands VALUES (?,?)", [(key, rowid) for key in band_keys]
        )
        # Links that named this title before it was stored now lead to it.
        conn.execute(
            "UPDATE links SET to_id=? WHERE to_id IS NULL AND to_title=?",
            (article.id, article.title),
        )
        return rowid

    def _id_by_title(self, title: str) -> str | None:
        row = self.conn.execute(
            "SELECT id FROM articles WHERE title=? ORDER BY rowid LIMIT 1", (title,)
        ).fetchone()
        return row[0] if row else None

    def delete(self, article_id: str) -> int | None:
        """Remove the article; returns its rowid, or None when there was none."""
        existing = self.lookup(article_id)
        if existing is None:
            return None
        self.conn.execute("DELETE FROM articles WHERE rowid=?", (existing.rowid,))
        self.conn.execute("UPDATE links SET to_id=NULL WHERE to_id=?", (article_id,))
        return existing.rowid
