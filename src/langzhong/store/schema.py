"""The tables of both stores (SQLite's file and the shared PostgreSQL database), written once
with placeholders for the words each database has for a column type; and how an SQLite file
made by an older langzhong is brought up to date."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langzhong.store.sqlite import ArticleStore

SCHEMA_VERSION = 4  # the SQLite file's (PostgreSQL's has its own: store/postgres.py)
# Each store fills in its own words for the types (see SQLITE_TYPES). PostgreSQL stores start
# from this (their version 3) and take later tables as upgrade steps.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    rowid {key},
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    source TEXT,
    url TEXT,
    department TEXT,
    lead TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    signature {blob},
    author TEXT,
    reviewed TEXT
);
CREATE INDEX IF NOT EXISTS articles_title ON articles(title);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE TABLE IF NOT EXISTS sections (
    article {int64} NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    heading TEXT NOT NULL,
    level INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (article, position)
){without_rowid};
CREATE TABLE IF NOT EXISTS links (
    article {int64} NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    to_title TEXT NOT NULL,
    to_id TEXT,
    PRIMARY KEY (article, position)
){without_rowid};
CREATE INDEX IF NOT EXISTS links_to_title ON links(to_title) WHERE to_id IS NULL;
CREATE TABLE IF NOT EXISTS bands (
    key {int64} NOT NULL,
    article {int64} NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    PRIMARY KEY (key, article)
){without_rowid};
CREATE INDEX IF NOT EXISTS bands_article ON bands(article);
CREATE TABLE IF NOT EXISTS feedback (  -- 「这个回答有帮助吗？」: nothing about who answered
    seq {serial},
    question TEXT NOT NULL,
    article TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    seq {serial},
    article {int64} NOT NULL  -- a rowid added, updated or deleted: the index re-reads its state
);
"""
# Version 4: document frequencies of a shared index (Milvus), kept by its writer beside the
# articles, so a question reads them in one statement instead of one index call a term.
INDEX_TERMS = """
CREATE TABLE IF NOT EXISTS index_terms (
    collection TEXT NOT NULL,
    term {int64} NOT NULL,  -- text.term_hash, as a signed 64-bit number
    docs {int64} NOT NULL,  -- documents holding it
    PRIMARY KEY (collection, term)
){without_rowid};
"""
SQLITE_TYPES = {
    "key": "INTEGER PRIMARY KEY",  # the rowid itself: new rows take the next number
    "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",  # never reused, even after deletes
    "int64": "INTEGER",
    "blob": "BLOB",
    "without_rowid": " WITHOUT ROWID",
    # The crawl state's tables (store/crawl_state.py): every row has a rowid, REAL has 8 bytes.
    "rowid": "",
    "float64": "REAL",
}


def upgrade_sqlite(store: ArticleStore) -> tuple[int, int]:
    """Bring the SQLite file's schema to SCHEMA_VERSION in place (the schema script has made
    any missing table); returns (the version found, the version now), 0 for a new file. A file
    of an unknown version is refused."""
    row = store.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    found = int(row[0]) if row else 0
    if row is None:
        store.conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    elif found in (1, 2, 3):
        if found == 1:
            _upgrade_from_1(store)
        if found <= 2:
            _upgrade_from_2(store)
        # Version 4's table is made by the schema script.
        store.set_meta("schema_version", str(SCHEMA_VERSION))
    elif found != SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"schema version {row[0]}, expected {SCHEMA_VERSION}")
    return found, SCHEMA_VERSION


def _upgrade_from_1(store: ArticleStore) -> None:
    """Version 1 kept its FTS5 index in this file; version 2 rebuilds the index from the log."""
    with store.transaction() as conn:
        for table in ("fts", "fts_vocab", "fts_count"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        store.relog_all()
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", ("2",))


def _upgrade_from_2(store: ArticleStore) -> None:
    """Version 3 adds who wrote an article and when it was reviewed (and the feedback table,
    which the schema script creates)."""
    with store.transaction() as conn:
        present = {row[1] for row in conn.execute("PRAGMA table_info(articles)")}
        for column in ("author", "reviewed"):
            if column not in present:
                conn.execute(f"ALTER TABLE articles ADD COLUMN {column} TEXT")
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", ("3",))
