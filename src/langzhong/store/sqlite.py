"""The system of record: one SQLite file holding articles, sections, related links and fingerprints.

Every write also appends the article's rowid to the ``changes`` log in the same transaction. The
search index is derived from the store by replaying that log (``ingest/indexer.py``), so after a
crash anywhere the index catches up from the store and the store never depends on the index.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypedDict
from uuid import uuid4

import numpy as np

from langzhong.core import Article
from langzhong.store.articles import read_articles, write_article
from langzhong.store.connection import Connection
from langzhong.store.locks import FileLock, WriterLock
from langzhong.store.schema import INDEX_TERMS, SCHEMA, SQLITE_TYPES, upgrade_sqlite

SHAPE_KEY = "index_shape"  # meta: the index shape the store serves (``index_shape``)
WRITE_CACHE_KIB = 64 << 10  # the writer's B-tree pages: inserts into a 1M-article store stay fast
READ_CACHE_KIB = 16 << 10  # per reading thread (a server has dozens); the OS caches the file too


class StoreError(RuntimeError):
    """The database file cannot be used; the message says why."""


class StoredArticle:
    """What the writer needs to know of an article already stored."""

    __slots__ = ("content_hash", "id", "rowid")

    def __init__(self, rowid: int, id: str, content_hash: str) -> None:
        self.rowid, self.id, self.content_hash = rowid, id, content_hash


class Feedback(TypedDict):
    """A reader's 「这个回答有帮助吗？」 answer, kept with the hour only."""

    question: str
    article: str
    helpful: bool
    at: str


class StoreUnavailable(StoreError):
    """The database server cannot be reached now; a later call may succeed."""


class ArticleStore:
    """Articles in one SQLite file (WAL mode: readers keep answering while a writer works).

    Its statements are written to run on PostgreSQL as well (``store/postgres.py`` overrides
    only connections, transactions and the schema), so both stores share one code path.
    """

    TYPES = SQLITE_TYPES  # its words for the column types of the shared table definitions
    # Several servers share it: each keeps its own index of it, so no index may prune the log.
    shared = False
    conn: Connection  # the writer's connection
    upgraded: tuple[int, int]  # (the schema version found, the version now)
    store_id: str  # names this store's change history

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._start_connections()
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
            conn.executescript((SCHEMA + INDEX_TERMS).format(**self.TYPES))
            self.conn = conn
            self.upgraded = upgrade_sqlite(self)
            # Names this store's change history, so an index built from another is recognised.
            self.set_meta("store_id", uuid4().hex, replace=False)
            self.store_id = self._required_meta("store_id")
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path}: not a usable langzhong database ({error})") from None

    def _start_connections(self) -> None:
        """The writer's lock and the readers' per-thread connections, none open yet."""
        self.lock = threading.RLock()
        self._writing = False
        self._readers = threading.local()
        self._opened: list[Connection] = []  # every reader connection, closed by ``close``

    def reader(self) -> Connection:
        """This thread's own read-only connection: readers never wait for one another."""
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
            self._readers.conn = conn
            with self.lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction on this thread's reader: every query inside sees the same state."""
        conn = self.reader()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction; everything inside is committed together or not at all (a
        transaction opened inside another is part of it)."""
        with self.lock:
            if self._writing:
                yield self.conn
                return
            self._begin()
            self._writing = True
            try:
                yield self.conn
            except BaseException:
                self._writing = False
                self._rollback()
                raise
            self._writing = False
            self.conn.execute("COMMIT")

    def _begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")  # the write lock now, not at the first write

    def _rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def close(self) -> None:
        with self.lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
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

    def content_hashes(self, rowids: Sequence[int]) -> dict[int, str]:
        """The content hash of each stored article among ``rowids``."""
        marks = ",".join("?" * len(rowids))
        query = f"SELECT rowid, content_hash FROM articles WHERE rowid IN ({marks})"
        return dict(self.reader().execute(query, list(rowids)).fetchall())

    def departments(self, rowids: Sequence[int]) -> dict[int, str]:
        """The department label of each stored article among ``rowids`` that has one."""
        if not rowids:
            return {}
        marks = ",".join("?" * len(rowids))
        query = (
            f"SELECT rowid, department FROM articles WHERE rowid IN ({marks})"
            " AND department IS NOT NULL"
        )
        return dict(self.reader().execute(query, list(rowids)).fetchall())

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
        with self.snapshot() as conn:
            return read_articles(conn, where, args)

    def rowids_after(self, rowid: int, limit: int) -> list[int]:
        """The next stored articles' rowids after ``rowid``, in order."""
        query = "SELECT rowid FROM articles WHERE rowid > ? ORDER BY rowid LIMIT ?"
        return [found for (found,) in self.reader().execute(query, (rowid, limit))]

    def is_empty(self) -> bool:
        return self.reader().execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None

    def meta(self, key: str) -> str | None:
        row = self.reader().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _required_meta(self, key: str) -> str:
        """A meta value every opened store has."""
        if (value := self.meta(key)) is None:
            raise StoreError(f"{self.describe()}: no {key} recorded")
        return value

    def set_meta(self, key: str, value: str, replace: bool = True) -> None:
        """Write one meta value, in the current write transaction or in one of its own
        (``replace=False``: only where the key has none yet)."""
        action = "UPDATE SET value=excluded.value" if replace else "NOTHING"
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO {action}", (key, value)
            )

    def has_table(self, name: str) -> bool:
        """Whether the optional table ``name`` (crawl state, vectors) was ever made."""
        query = "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?"
        return self.reader().execute(query, (name,)).fetchone() is not None

    def size_bytes(self) -> int:
        return self.path.stat().st_size

    def ping(self) -> None:
        """Raises StoreError (StoreUnavailable for a server) when the store cannot answer."""
        self.reader().execute("SELECT 1").fetchone()

    def describe(self) -> str:
        """Where the articles live, for ``stats`` (never a password)."""
        return str(self.path)

    def index_shape(self) -> str | None:
        """Which index this store serves: "own" (an index in each server's home) or
        "milvus:<collection>" (one every server shares); None before any server said."""
        return self.meta(SHAPE_KEY)

    def set_index_shape(self, shape: str) -> None:
        """Record the shape; from "milvus:…" on, vector writes are logged as changes, since
        that index holds the vectors too."""
        self.set_meta(SHAPE_KEY, shape)

    def index_holds_vectors(self) -> bool:
        return (self.index_shape() or "").startswith("milvus:")

    def log_changes(self, rowids: Sequence[int]) -> None:
        """Log these articles as changed, for the index to read them again (inside
        ``transaction()``)."""
        self.conn.executemany("INSERT INTO changes (article) VALUES (?)", [(r,) for r in rowids])

    def writer_lock(self, name: str) -> WriterLock:
        """The lock that lets one process of this machine write the shared index ``name``."""
        return FileLock(self.path.with_name(f"{self.path.name}.{name}.lock"))

    # -- the change log, read by the indexer ----------------------------------------------------

    def changes_after(self, seq: int, limit: int) -> list[tuple[int, int]]:
        """(seq, article rowid) of the next committed changes after ``seq``, oldest first."""
        return (
            self.reader()
            .execute(
                "SELECT seq, article FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            )
            .fetchall()
        )

    def last_change(self) -> int:
        row = self.reader().execute("SELECT max(seq) FROM changes").fetchone()
        return row[0] or self.pruned_through()

    def pruned_through(self) -> int:
        """Changes up to this one are gone from the log: an index older than it must rebuild."""
        return int(self.meta("changes_pruned_through") or 0)

    def prune_changes(self, through: int) -> None:
        """Forget changes an index has applied and committed."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM changes WHERE seq <= ?", (through,))
            if through > self.pruned_through():
                self.set_meta("changes_pruned_through", str(through))

    def relog_all(self) -> None:
        """Log every stored article as changed, so that an index rebuilt from zero gets them all
        (call inside ``transaction()``)."""
        self.conn.execute("INSERT INTO changes (article) SELECT rowid FROM articles ORDER BY rowid")

    def counts(self) -> dict[str, int]:
        one = self.reader().execute
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
            "feedback": one("SELECT count(*) FROM feedback").fetchone()[0],
        }

    # -- feedback -------------------------------------------------------------------------------

    def add_feedback(self, question: str, article_id: str, helpful: bool, at: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO feedback (question, article, helpful, at) VALUES (?,?,?,?)",
                (question, article_id, int(helpful), at),
            )

    def iter_feedback(self) -> Iterator[Feedback]:
        rows = self.reader().execute(
            "SELECT question, article, helpful, at FROM feedback ORDER BY seq"
        )
        for question, article, helpful, at in rows:
            yield {"question": question, "article": article, "helpful": bool(helpful), "at": at}

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
        replaced = existing.rowid if existing else None
        return write_article(self.conn, article, content_hash, signature, band_keys, replaced)

    def rowids_titled(self, title: str) -> list[int]:
        """The articles whose title is exactly ``title`` (at most a few)."""
        rows = self.reader().execute(
            "SELECT rowid FROM articles WHERE title=? ORDER BY rowid LIMIT 3", (title,)
        )
        return [rowid for (rowid,) in rows]

    def delete(self, article_id: str) -> int | None:
        """Remove the article; returns its rowid, or None when there was none."""
        existing = self.lookup(article_id)
        if existing is None:
            return None
        self.conn.execute("DELETE FROM articles WHERE rowid=?", (existing.rowid,))
        self.conn.execute("UPDATE links SET to_id=NULL WHERE to_id=?", (article_id,))
        self.conn.execute("INSERT INTO changes (article) VALUES (?)", (existing.rowid,))
        return existing.rowid
