"""A crawl's memory, kept in the store beside the articles it produced: every address seen (the
frontier is the queued ones), what each fetch answered, its validators for conditional
requests, and when each host may be asked again. A killed crawl resumes from here.

Writes happen inside ``ArticleStore.transaction()``, together with the articles a page gave,
so a page is either fetched-and-stored or still queued.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from langzhong.store.sqlite import ArticleStore, StoreError

Kind = Literal["page", "sitemap", "feed"]
State = Literal["queued", "done", "skipped", "failed", "gone"]
SCHEMA = """
CREATE TABLE IF NOT EXISTS crawl_urls (
    url TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,  -- lower first: discovery files, seeds, 相关阅读, listed, linked
    depth INTEGER NOT NULL,     -- links from the seeds
    due REAL NOT NULL DEFAULT 0,  -- not before (a retry's backoff)
    attempts INTEGER NOT NULL DEFAULT 0,
    status INTEGER,             -- the last HTTP status
    etag TEXT,
    last_modified TEXT,
    fetched_at REAL,
    gone_since REAL,
    articles TEXT NOT NULL DEFAULT '[]',  -- ids of the articles stored from it
    note TEXT
);
CREATE INDEX IF NOT EXISTS crawl_queue ON crawl_urls(state, priority, depth);
CREATE TABLE IF NOT EXISTS crawl_hosts (origin TEXT PRIMARY KEY, ready_at REAL NOT NULL);
"""
REQUEUE = (
    "UPDATE crawl_urls SET state='queued', attempts=0, due=0"
    " WHERE state IN ('done', 'gone', 'failed', 'skipped') AND "
)
COLUMNS = (
    "url, kind, state, priority, depth, due, attempts, status, etag, last_modified, fetched_at,"
    " gone_since, articles, note"
)


@dataclass(frozen=True)
class CrawlUrl:
    url: str
    kind: Kind
    state: State
    priority: int
    depth: int
    due: float
    attempts: int
    status: int | None
    etag: str | None
    last_modified: str | None
    fetched_at: float | None
    gone_since: float | None
    articles: list[str]
    note: str | None

    @classmethod
    def from_row(cls, row: tuple) -> CrawlUrl:
        return cls(*row[:12], json.loads(row[12]), row[13])


class CrawlState:
    def __init__(self, store: ArticleStore) -> None:
        self.store = store
        if store.shared:  # its queries are SQLite's (json_each, rowid order)
            raise StoreError("crawling needs the embedded SQLite store for now")
        if store.has_table("crawl_hosts"):
            return
        with store.transaction() as conn:  # executescript would commit: one statement a time
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    # -- reading -------------------------------------------------------------------------------

    def get(self, url: str) -> CrawlUrl | None:
        row = self.store.conn.execute(
            f"SELECT {COLUMNS} FROM crawl_urls WHERE url=?", (url,)
        ).fetchone()
        return CrawlUrl.from_row(row) if row else None

    def queued(self, limit: int) -> list[CrawlUrl]:
        """The frontier's head, in crawl order."""
        rows = self.store.conn.execute(
            f"SELECT {COLUMNS} FROM crawl_urls WHERE state='queued'"
            " ORDER BY priority, depth, rowid LIMIT ?",
            (limit,),
        )
        return [CrawlUrl.from_row(row) for row in rows]

    def ready_at(self, origin: str) -> float:
        row = self.store.conn.execute(
            "SELECT ready_at FROM crawl_hosts WHERE origin=?", (origin,)
        ).fetchone()
        return row[0] if row else 0.0

    def gone_before(self, moment: float) -> list[CrawlUrl]:
        """Pages gone since before ``moment`` that still have articles stored."""
        rows = self.store.conn.execute(
            f"SELECT {COLUMNS} FROM crawl_urls WHERE state='gone' AND gone_since <= ?"
            " AND articles != '[]'",
            (moment,),
        )
        return [CrawlUrl.from_row(row) for row in rows]

    def live_sources(self, article_id: str) -> int:
        """How many addresses that are not gone gave this article."""
        return self.store.conn.execute(
            "SELECT count(*) FROM crawl_urls, json_each(crawl_urls.articles)"
            " WHERE json_each.value=? AND state != 'gone'",
            (article_id,),
        ).fetchone()[0]

    def queued_count(self) -> int:
        row = self.store.conn.execute("SELECT count(*) FROM crawl_urls WHERE state='queued'")
        return row.fetchone()[0]

    @staticmethod
    def counts(store: ArticleStore) -> dict[str, int]:
        """Addresses by state, read without creating anything in a store that never crawled."""
        if not store.has_table("crawl_urls"):
            return {}
        read = store.reader().execute
        return dict(read("SELECT state, count(*) FROM crawl_urls GROUP BY state").fetchall())

    # -- writing (inside ``store.transaction()``) ----------------------------------------------

    def discover(self, url: str, kind: Kind, priority: int, depth: int) -> None:
        """A newly seen address joins the queue; one already queued keeps its best place."""
        self.store.conn.execute(
            "INSERT INTO crawl_urls (url, kind, state, priority, depth) VALUES (?,?,'queued',?,?)"
            " ON CONFLICT(url) DO UPDATE SET priority=min(priority, excluded.priority),"
            " depth=min(depth, excluded.depth) WHERE state='queued'",
            (url, kind, priority, depth),
        )

    def revisit(self, url: str, kind: Kind, priority: int, depth: int) -> None:
        """Queue the address even if it was visited before (a start page, a sitemap): the fetch
        will be conditional."""
        self.discover(url, kind, priority, depth)
        self.store.conn.execute(REQUEUE + "url=?", (url,))

    def revisit_due(self, fetched_before: float) -> int:
        """Queue every page last visited before the moment (``crawl --refresh``)."""
        where = "kind='page' AND coalesce(fetched_at, 0) <= ?"
        return self.store.conn.execute(REQUEUE + where, (fetched_before,)).rowcount

    def finish(self, url: str, state: State, **fields: object) -> None:
        """Record a visit's outcome (fields: any column but url)."""
        if "articles" in fields:
            fields["articles"] = json.dumps(fields["articles"])
        names = ", ".join(f"{name}=?" for name in ("state", *fields))
        self.store.conn.execute(
            f"UPDATE crawl_urls SET {names} WHERE url=?", (state, *fields.values(), url)
        )

    def set_ready_at(self, origin: str, moment: float) -> None:
        self.store.conn.execute(
            "INSERT INTO crawl_hosts VALUES (?, ?) ON CONFLICT(origin) DO UPDATE"
            " SET ready_at=excluded.ready_at",
            (origin, moment),
        )
