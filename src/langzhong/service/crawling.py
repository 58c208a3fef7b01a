"""Crawling: fetch a health site politely and store its articles, resumably."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from langzhong.config import Settings
from langzhong.ingest.indexer import Indexer
from langzhong.ingest.writer import Writer
from langzhong.service.writing import Writing
from langzhong.store import ArticleStore, StoreError
from langzhong.store.crawl_state import CrawlState

if TYPE_CHECKING:  # the crawl stage is imported when a crawl runs, not by every server worker
    from langzhong.crawl.options import CrawlOptions, CrawlReport

INDEX_EVERY_S = 30.0  # during a crawl, what was stored becomes searchable at least this often


class Crawling:
    def __init__(
        self,
        settings: Settings,
        store: ArticleStore,
        writer: Writer,
        indexer: Indexer,
        writing: Writing,
    ) -> None:
        self.settings, self.store, self.writer = settings, store, writer
        self.indexer, self.writing = indexer, writing

    def crawl(
        self,
        seeds: list[str],
        options: CrawlOptions,
        on_visit: Callable[[CrawlReport], None] = lambda report: None,
    ) -> CrawlReport:
        """Fetch pages from the seeds (and the sites' sitemaps and feeds) and store their
        articles; the crawl's state stays in the store, so the next call resumes it. One crawl
        at a time writes to a store (two would fetch the same queue twice). ``on_visit`` hears
        of every visit, then of each phase after the fetch (``report.phase``)."""
        from langzhong.crawl.archive import Archive
        from langzhong.crawl.crawler import Crawler

        self.writing.operator_writes()
        indexed = time.monotonic()

        def after_visit(report: CrawlReport) -> None:
            nonlocal indexed
            if time.monotonic() - indexed > INDEX_EVERY_S:
                self.indexer.catch_up()
                indexed = time.monotonic()
            on_visit(report)

        lock = self.store.writer_lock("crawl")
        if not lock.acquire():
            raise StoreError(f"another crawl is writing to {self.store.describe()}; wait for it")
        try:
            state = CrawlState(self.store)
            archive = Archive(self.settings.archive_path)
            crawler = Crawler(state, self.writer, archive, options, after_visit)

            def on_phase(phase: str) -> None:
                crawler.report.phase = phase
                on_visit(crawler.report)

            with self.writing.indexing(on_phase):
                try:
                    return crawler.run(seeds)
                finally:
                    crawler.close()
        finally:
            lock.release()

    def counts(self) -> dict[str, int]:
        """Addresses the crawler knows, by state (queued, done, gone, …)."""
        return CrawlState.counts(self.store)
