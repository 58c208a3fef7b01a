"""What a crawl is asked to do (``CrawlOptions``, from ``langzhong crawl``'s flags) and what it
reports as it goes (``CrawlReport``, the live line and the final JSON)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from langzhong.crawl.fetch import TOTAL_S, USER_AGENT
from langzhong.ingest.sources import Rejection
from langzhong.ingest.writer import IngestReport

MAX_DISCOVERY_FILES = 200  # sitemaps and feeds read in one crawl, whatever --max-pages says
PAGES_PER_DISCOVERY_FILE = 10  # one more sitemap or feed read for every 10 pages allowed
QUEUED_PER_PAGE = 20  # addresses that may wait in the queue for each page allowed


@dataclass(frozen=True)
class CrawlOptions:
    max_pages: int = 100
    max_depth: int = 3
    same_site: bool = True
    delay_s: float = 1.0
    user_agent: str = USER_AGENT
    sitemaps: tuple[str, ...] = ()
    refresh: bool = False
    revisit_after_s: float = 86_400.0
    gone_grace_s: float = 7 * 86_400.0
    max_bytes: int = 5 << 20
    timeout_s: float = TOTAL_S

    @property
    def max_queued(self) -> int:
        """Page addresses the queue may hold: more are left for a later crawl to find again."""
        return QUEUED_PER_PAGE * self.max_pages

    @property
    def max_discovery_files(self) -> int:
        return min(MAX_DISCOVERY_FILES, 2 + self.max_pages // PAGES_PER_DISCOVERY_FILE)


@dataclass
class CrawlReport:
    counts: Counter = field(default_factory=Counter)
    stored: IngestReport = field(default_factory=IngestReport)
    queued: int = 0
    elapsed_s: float = 0.0
    phase: str = "fetching"  # then what the caller does with the articles (indexing, embedding)
    stopped_at_max_pages: bool = False  # addresses were left queued for the next crawl

    @property
    def rejections(self) -> list[Rejection]:
        return self.stored.rejections

    def as_dict(self) -> dict[str, float | int | bool]:
        visits = sum(self.counts[k] for k in ("fetched", "not_modified", "gone", "errors"))
        return {
            "fetched": self.counts["fetched"],
            "not_modified": self.counts["not_modified"],
            "gone": self.counts["gone"],
            "skipped_robots": self.counts["skipped_robots"],
            "skipped": self.counts["skipped"],
            "not_articles": self.counts["not_articles"],
            "retried": self.counts["retried"],
            "errors": self.counts["errors"],
            "redirects": self.counts["redirects"],
            **self.stored.as_dict(),
            "removed": self.counts["removed"],
            "queued": self.queued,
            "not_queued": self.counts["not_queued"],
            "stopped_at_max_pages": self.stopped_at_max_pages,
            "elapsed_s": round(self.elapsed_s, 2),
            "pages_per_second": round(visits / self.elapsed_s, 2) if self.elapsed_s else 0.0,
        }
