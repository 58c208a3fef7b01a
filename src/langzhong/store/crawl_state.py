"""A crawl's memory, kept in the store beside the articles it produced: every address seen (the
frontier is the queued ones), what each fetch answered, its validators for conditional
requests, and when each host may be asked again. A killed crawl resumes from here.

Writes happen inside ``ArticleStore.transaction()``, together with the articles a page gave,
so a page is either fetched-and-stored or still queued. The statements run on both stores (the
SQLite file and PostgreSQL), so a crawl can keep a shared deployment fresh directly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langzhong.store.sqlite import ArticleStore

Kind = Literal["page", "sitemap", "feed"]
State = Literal["queued", "done", "skipped", "failed", "gone"]
# Each store fills in its own words ({rowid}: the discovery order, which every SQLite row has).
SCHEMA = """
CREATE TABLE IF NOT EXISTS crawl_urls (
    {rowid}
    url TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,  -- lower first: discovery files, seeds, 相关阅读, listed, linked
    depth INTEGER NOT NULL,     -- links from the seeds
    due {float64} NOT NULL DEFAULT 0,  -- not before (a retry's or a failure's backoff)
    attempts INTEGER NOT NULL DEFAULT 0,
    status INTEGER,             -- the last HTTP status
    etag TEXT,
    last_modified TEXT,
    fetched_at {float64},
    gone_since {float64},
    articles TEXT NOT NULL DEFAULT '[]',  -- ids of the articles stored from it
    note TEXT,
    failures INTEGER NOT NULL DEFAULT 0  -- visits that failed in a row
);
CREATE INDEX IF NOT EXISTS crawl_queue ON crawl_urls(state, priority, depth);
CREATE TABLE IF NOT EXISTS crawl_hosts (origin TEXT PRIMARY KEY, ready_at {float64} NOT NULL);
"""
REQUEUE = (
    "UPDATE crawl_urls SET state='queued', attempts=0, due=0"
    " WHERE state IN ('done', 'gone', 'failed', 'skipped') AND "
)
COLUMNS = (
    "url, kind, state, priority, depth, due, attempts, status, etag, last_modified, fetched_at,"
    " gone_since, articles, note, failures"
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
    failures: int

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CrawlUrl:
        values = list(row)
        values[12] = json.loads(values[12])  # the articles, stored as a JSON list
        return cls(*values)


def _like(text: str) -> str:
    """``text`` anywhere in a column, for LIKE … ESCAPE '\\'."""
    for special in ("\\", "%", "_"):
        text = text.replace(special, "\\" + special)
    return f"%{text}%"


class CrawlState:
    def __init__(self, store: ArticleStore) -> None:
        self.store = store
        if not store.has_table("crawl_hosts"):
            with store.transaction() as conn:  # executescript would commit: one at a time
                for statement in SCHEMA.format(**store.TYPES).split(";"):
                    if statement.strip():
                        conn.execute(statement)
        elif "failures" not in self._columns():  # a crawl state from before failures counted
            with store.transaction() as conn:
                conn.execute("ALTER TABLE crawl_urls ADD failures INTEGER NOT NULL DEFAULT 0")

    def _columns(self) -> list[str]:
        cursor = self.store.conn.execute("SELECT * FROM crawl_urls LIMIT 0")
        return [column[0] for column in cursor.description]

    # -- reading -------------------------------------------------------------------------------

    def get(self, url: str) -> CrawlUrl | None:
        row = self.store.conn.execute(
            f"SELECT {COLUMNS} FROM crawl_urls WHERE url=?", (url,)
        ).fetchone()
        return CrawlUrl.from_row(row) if row else None

    def queued(self, limit: int, kind: Kind | None = None) -> list[CrawlUrl]:
        """The frontier's head (of one kind of address), in crawl order."""
        rows = self.store.conn.execute(
            f"SELECT {COLUMNS} FROM crawl_urls WHERE state='queued' AND kind LIKE ?"
            " ORDER BY priority, depth, rowid LIMIT ?",
            (kind or "%", limit),
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
            "SELECT count(*) FROM crawl_urls WHERE articles LIKE ? ESCAPE '\\' AND state != 'gone'",
            (_like(json.dumps(article_id)),),
        ).fetchone()[0]

    def queued_count(self, kind: Kind | None = None) -> int:
        row = self.store.conn.execute(
            "SELECT count(*) FROM crawl_urls WHERE state='queued' AND kind LIKE ?", (kind or "%",)
        )
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
            " ON CONFLICT(url) DO UPDATE SET"
            " priority=CASE WHEN excluded.priority < crawl_urls.priority"
            " THEN excluded.priority ELSE crawl_urls.priority END,"
            " depth=CASE WHEN excluded.depth < crawl_urls.depth"
            " THEN excluded.depth ELSE crawl_urls.depth END"
            " WHERE crawl_urls.state='queued'",
            (url, kind, priority, depth),
        )

    def revisit(self, url: str, kind: Kind, priority: int, depth: int) -> None:
        """Queue the address even if it was visited before (a start page, a sitemap): the fetch
        will be conditional."""
        self.discover(url, kind, priority, depth)
        self.store.conn.execute(REQUEUE + "url=?", (url,))

    def revisit_due(self, fetched_before: float, now: float) -> int:
        """Queue every page last visited before the moment, and every failed page whose wait
        is over (``crawl --refresh``)."""
        where = (
            "kind='page' AND (state='failed' AND due <= ?"
            " OR state != 'failed' AND coalesce(fetched_at, 0) <= ?)"
        )
        return self.store.conn.execute(REQUEUE + where, (now, fetched_before)).rowcount

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
