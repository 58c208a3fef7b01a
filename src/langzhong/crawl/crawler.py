"""The crawl policy, which is ours: what to fetch next, when, and what to do with the answer.

One request at a time, each host asked again only after its delay (the larger of ``--delay``
and robots.txt's Crawl-delay); 429 and 503 back off as Retry-After says; every visit's outcome
is committed with the articles it gave, so a killed crawl resumes without losing or refetching.
The work of one run is bounded by ``--max-pages``: the addresses it may queue and the sitemaps
and feeds it may read grow with it, and pages are fetched between sitemaps, not after all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from langzhong.core import Article
from langzhong.crawl.archive import Archive
from langzhong.crawl.discover import feed_entries, normalize, sitemap_entries
from langzhong.crawl.fetch import Fetcher, Refused, Response, conditional
from langzhong.crawl.options import CrawlOptions, CrawlReport
from langzhong.crawl.page import read_fetched
from langzhong.crawl.robots import Robots
from langzhong.crawl.scope import Scope, origin
from langzhong.ingest.sources import Rejection
from langzhong.ingest.writer import Writer
from langzhong.store.crawl_state import CrawlState, CrawlUrl, Kind, State

# Queue order, lowest first.
DISCOVERY, SEED, RELATED, LISTED, LINKED = range(5)
MAX_ATTEMPTS = 4
BACKOFF_S = 2.0  # the first wait after a failure that names none; doubled each time
MAX_WAIT_S = 120.0  # a longer wait leaves the address queued for a later crawl
FAILED_WAIT_S = 86_400.0  # a page that failed is asked again after 1, 2, 4 … days
MAX_FAILED_WAIT_S = 32 * 86_400.0
RETRY_STATUS = (429, 500, 502, 503, 504)
GONE_STATUS = (404, 410)


def _timestamp(lastmod: str) -> float | None:
    try:
        return datetime.fromisoformat(lastmod.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Crawler:
    def __init__(
        self,
        state: CrawlState,
        writer: Writer,
        archive: Archive,
        options: CrawlOptions,
        after_visit: Callable[[CrawlReport], None] = lambda report: None,
    ) -> None:
        self.state, self.writer, self.archive, self.options = state, writer, archive, options
        self.after_visit = after_visit
        self.fetcher = Fetcher(options.user_agent, options.max_bytes, options.timeout_s)
        self.robots = Robots(self.fetcher)
        self.report = CrawlReport()
        self.scope = Scope([], options.same_site)
        self._pages = 0  # pages asked for in this run
        self._discovery_files = 0
        self._discovery_queued: set[str] = set()  # sitemaps and feeds are read again each crawl

    def run(self, seeds: list[str]) -> CrawlReport:
        started = time.monotonic()
        starts = self._starts(seeds)
        with self.state.store.transaction():
            for url in starts:
                self.state.revisit(url, "page", SEED, 0)
            if self.options.refresh:
                self.state.revisit_due(time.time() - self.options.revisit_after_s, time.time())
        for host in dict.fromkeys(origin(url) for url in starts):
            listed = self.robots.of(host).sitemaps or [f"{host}/sitemap.xml"]
            with self.state.store.transaction():
                self.state.set_ready_at(host, time.time() + self._delay(host))
                for url in (*self.options.sitemaps, *listed):
                    if address := normalize(url, host, page=False):
                        self._queue_discovery(address, "sitemap")
        while self._pages < self.options.max_pages and (entry := self._next()):
            if reason := self._skip_reason(entry):  # costs the site nothing, nor the budget
                self._skip(entry, reason)
            else:
                self._pages += entry.kind == "page"
                self._visit(entry)
            self.report.queued = self.state.queued_count()
            self.after_visit(self.report)
        self._remove_gone()
        self.report.queued = self.state.queued_count()
        self.report.stopped_at_max_pages = bool(self.report.queued) and (
            self._pages >= self.options.max_pages
        )
        self.report.elapsed_s = time.monotonic() - started
        return self.report

    def _starts(self, seeds: list[str]) -> list[str]:
        """The start addresses, normalised; the crawl's scope and the internal addresses it
        may reach are theirs."""
        starts = [url for seed in seeds if (url := normalize(seed))]
        if len(starts) < len(seeds):
            raise ValueError("a start address must be an http(s) page address")
        self.scope = Scope(starts, self.options.same_site)
        for sitemap in self.options.sitemaps:
            if (address := normalize(sitemap, page=False)) and self.scope.refusal(address):
                raise ValueError(f"--sitemap {sitemap} is not on the site of a start address")
        for url in starts:
            self.fetcher.addresses.allow_start(urlsplit(url).hostname or "")
        return starts

    def close(self) -> None:
        self.fetcher.close()
        self.archive.close()

    # -- choosing --------------------------------------------------------------------------------

    def _next(self) -> CrawlUrl | None:
        """The first queued address that is due, waiting for it when it is due soon; a page
        first when this run has read more sitemaps and feeds than pages."""
        while head := self._head():
            now = time.time()
            ready = next((entry for entry in head if entry.due <= now), None)
            if ready:
                return ready
            wait = min(entry.due for entry in head) - now
            if wait > MAX_WAIT_S:
                return None
            time.sleep(wait)
        return None

    def _head(self) -> list[CrawlUrl]:
        if self._discovery_files > self._pages and (pages := self.state.queued(64, "page")):
            return pages
        return self.state.queued(64)

    def _refusal(self, url: str) -> str | None:
        if reason := self.scope.refusal(url):
            return reason
        if not self.robots.allows(url):
            return self.robots.of(url).unreachable or "disallowed by robots.txt"
        return None

    def _wait_for_host(self, host: str) -> None:
        pause = self.state.ready_at(host) - time.time()
        if pause > 0:
            time.sleep(min(pause, MAX_WAIT_S))

    def _delay(self, host: str) -> float:
        return max(self.options.delay_s, self.robots.of(host).crawl_delay())

    # -- visiting --------------------------------------------------------------------------------

    def _skip_reason(self, entry: CrawlUrl) -> str | None:
        if reason := self._refusal(entry.url):
            return reason
        if entry.kind != "page":
            self._discovery_files += 1
            if self._discovery_files > self.options.max_discovery_files:
                return "more sitemaps and feeds than --max-pages allows"
        return None

    def _skip(self, entry: CrawlUrl, reason: str) -> None:
        self.report.counts["skipped_robots" if "robots" in reason else "skipped"] += 1
        with self.state.store.transaction():
            self.state.finish(entry.url, "skipped", note=reason)

    def _visit(self, entry: CrawlUrl) -> None:
        url, host = entry.url, origin(entry.url)
        self._wait_for_host(host)
        headers = conditional(entry.etag, entry.last_modified)
        try:
            response = self.fetcher.get(
                url, headers, may_follow=self._refusal, between_hops=self._delay(host)
            )
        except Refused as error:
            self._failed(entry, host, str(error))
            return
        except httpx.HTTPError as error:
            self._retry(entry, host, None, f"{type(error).__name__}")
            return
        if response.status in RETRY_STATUS:
            self._retry(entry, host, response, f"HTTP {response.status}")
        elif response.status == 304:
            self._not_modified(entry, host)
        elif response.status in GONE_STATUS and (entry.fetched_at or entry.kind != "page"):
            self._gone(entry, host, response)
        elif response.status == 200:
            self._read(entry, host, response)
        else:
            self._failed(entry, host, f"HTTP {response.status}", response.status)

    def _record(self, host: str, url: str, state: State, **fields: object) -> None:
        """A visit's outcome, and the moment its host may be asked again."""
        with self.state.store.transaction():
            self.state.set_ready_at(host, time.time() + self._delay(host))
            self.state.finish(url, state, **fields)

    def _failed(self, entry: CrawlUrl, host: str, note: str, status: int | None = None) -> None:
        """Given up for this crawl; a ``--refresh`` asks again only after a wait that doubles
        with each failure in a row (a dead link is not asked every night)."""
        self.report.counts["errors"] += 1
        failures = entry.failures + 1
        wait = min(FAILED_WAIT_S * 2 ** (failures - 1), MAX_FAILED_WAIT_S)
        fields = {"status": status, "note": note, "failures": failures, "due": time.time() + wait}
        self._record(host, entry.url, "failed", **fields)

    def _retry(self, entry: CrawlUrl, host: str, response: Response | None, note: str) -> None:
        attempts = entry.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            status = response.status if response is not None else None
            self._failed(entry, host, f"{note}, {attempts} attempts", status)
            return
        self.report.counts["retried"] += 1
        asked = response.retry_after() if response is not None else None
        wait = asked if asked is not None else BACKOFF_S * 2**entry.attempts
        until = time.time() + max(wait, self._delay(host))
        with self.state.store.transaction():
            self.state.set_ready_at(host, min(until, time.time() + MAX_WAIT_S))
            self.state.finish(entry.url, "queued", attempts=attempts, due=until, note=note)

    def _not_modified(self, entry: CrawlUrl, host: str) -> None:
        self.report.counts["not_modified"] += 1
        fields = {"status": 304, "fetched_at": time.time(), "attempts": 0, "gone_since": None}
        self._record(host, entry.url, "done", **fields, failures=0, note=None)

    def _gone(self, entry: CrawlUrl, host: str, response: Response) -> None:
        if entry.kind == "page":  # a sitemap.xml guessed at and not there is no news
            self.report.counts["gone"] += 1
        since = entry.gone_since or time.time()
        fields = {"status": response.status, "fetched_at": time.time(), "attempts": 0}
        self._record(host, entry.url, "gone", **fields, gone_since=since, failures=0, note=None)

    def _read(self, entry: CrawlUrl, host: str, response: Response) -> None:
        final = normalize(response.url) or entry.url
        articles: list[Article] = []
        # The validators belong to the page where the redirects end; a later request for the old
        # address sends them along every hop, so an unchanged page still costs a 304.
        validators = {"etag": None, "last_modified": None} | response.validators()
        with self.state.store.transaction():
            self.state.set_ready_at(host, time.time() + self._delay(host))
            if final != entry.url:  # redirected: the page is known by where it now lives
                self.report.counts["redirects"] += 1
                self.state.finish(
                    entry.url,
                    "done",
                    status=response.status,
                    fetched_at=time.time(),
                    note=f"→ {final}",
                    **validators,
                )
                self.state.discover(final, entry.kind, entry.priority, entry.depth)
                redirected = self.state.get(final)
                assert redirected is not None  # discovered just above, in this transaction
                entry = redirected
            note = None
            if entry.kind == "sitemap":
                self._read_sitemap(response.body, final)
            elif entry.kind == "feed":
                self._queue_pages(feed_entries(response.body, final), LISTED, 1)
            else:
                note, articles = self._read_page(entry, response, final)
            ids = self.writer.write_each(articles, self.report.stored) if articles else []
            self.state.finish(
                final,
                "done",
                status=200,
                fetched_at=time.time(),
                attempts=0,
                failures=0,
                gone_since=None,
                articles=ids,
                note=note,
                **validators,
            )
            self._drop_stale(set(entry.articles) - set(ids))
        self.report.counts["fetched"] += 1

    def _read_sitemap(self, body: bytes, url: str) -> None:
        found = sitemap_entries(body, url)
        for sitemap in found.sitemaps:
            self._queue_discovery(sitemap, "sitemap")
        self._queue_pages([page for page, _ in found.pages], LISTED, 1)
        for page, lastmod in found.pages:
            known = self.state.get(page)
            changed = _timestamp(lastmod) if lastmod else None
            if known and known.fetched_at and changed and changed > known.fetched_at:
                self.state.revisit(page, "page", LISTED, known.depth)

    def _read_page(
        self, entry: CrawlUrl, response: Response, final: str
    ) -> tuple[str | None, list[Article]]:
        page = read_fetched(final, response.body, response.content_type)
        links = page.links
        if links.follow and entry.depth < self.options.max_depth:
            self._queue_pages(links.related, RELATED, entry.depth + 1)
            self._queue_pages(links.other, LINKED, entry.depth + 1)
        for feed in links.feeds:
            self._queue_discovery(feed, "feed")
        if page.skipped:
            self.report.counts["not_articles" if page.not_article else "skipped"] += 1
            return page.skipped, []
        self.archive.write(response)
        self.report.stored.rejections.extend(r for r in page.items if isinstance(r, Rejection))
        return None, [a for a in page.items if not isinstance(a, Rejection)]

    def _queue_discovery(self, url: str, kind: Kind) -> None:
        """A sitemap or feed, read once per crawl, as many as --max-pages allows."""
        seen = self._discovery_queued
        if url in seen or len(seen) >= self.options.max_discovery_files:
            return
        if not self.scope.refusal(url):
            seen.add(url)
            self.state.revisit(url, kind, DISCOVERY, 0)

    def _queue_pages(self, urls: list[str], priority: int, depth: int) -> None:
        """Queue the addresses in scope while the queue has room for new ones (those it cannot
        take are found again by a later crawl)."""
        room = self.options.max_queued - self.state.queued_count("page")
        for url in urls:
            if self.scope.refusal(url):
                continue
            if self.state.get(url) is None:
                if room <= 0:
                    self.report.counts["not_queued"] += 1
                    continue
                room -= 1
            self.state.discover(url, "page", priority, depth)

    # -- leaving -------------------------------------------------------------------------------

    def _drop_stale(self, article_ids: set[str]) -> None:
        """Articles a page no longer gives leave the store unless another live page gives them
        (inside the visit's transaction, after its new articles are recorded)."""
        for article_id in article_ids:
            if not self.state.live_sources(article_id) and self.writer.delete(article_id):
                self.report.counts["removed"] += 1

    def _remove_gone(self) -> None:
        """Pages gone for longer than the grace period take their articles out of search."""
        expired = self.state.gone_before(time.time() - self.options.gone_grace_s)
        with self.state.store.transaction():
            for entry in expired:  # no validators: if the page comes back, it is read again
                self.state.finish(entry.url, "gone", articles=[], etag=None, last_modified=None)
                self._drop_stale(set(entry.articles))
