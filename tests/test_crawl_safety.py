"""A crawl stays on the site it was given and within bounded time and work: what a hostile probe
of the crawler found (docs/crawl.md), each on loopback servers started by the test."""

from __future__ import annotations

import gzip
import ipaddress
import json
import socketserver
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from conftest import run_cli
from fixture_site import FixtureSite, article_html

from langzhong.config import Settings
from langzhong.crawl.guard import Addresses, Refused, non_public
from langzhong.crawl.options import CrawlOptions
from langzhong.service import Service
from langzhong.store.crawl_state import CrawlState, CrawlUrl
from langzhong.store.sqlite import ArticleStore

HTML = {"Content-Type": "text/html; charset=utf-8"}
ALLOW_ALL = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow:\n")


def crawl(home: Path, url: str, *args: str) -> dict:
    done = run_cli("crawl", url, "--delay", "0", "--json", *args, home=home)
    return json.loads(done.stdout)


def links_page(*hrefs: str) -> tuple[int, dict[str, str], bytes]:
    anchors = "".join(f'<li><a href="{href}">链接{n}</a></li>' for n, href in enumerate(hrefs))
    return 200, HTML, f"<html><body><h1>首页</h1><ul>{anchors}</ul></body></html>".encode()


def urlset(*urls: str) -> tuple[int, dict[str, str], bytes]:
    entries = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    return 200, {"Content-Type": "application/xml"}, body.encode()


def crawl_entry(home: Path, url: str) -> CrawlUrl:
    store = ArticleStore(Settings.load(home).db_path)
    try:
        return CrawlState(store).get(url)
    finally:
        store.close()


def stored_urls(home: Path) -> list[str]:
    service = Service(Settings.load(home))
    try:
        return [article.url for article in service.store.iter_articles()]
    finally:
        service.close()


def test_links_sitemaps_and_redirects_to_another_port_of_the_host_are_not_fetched(tmp_path):
    with FixtureSite() as admin, FixtureSite(crawl_delay=None) as site:
        site.extra["/robots.txt"] = ALLOW_ALL
        site.extra["/"] = links_page(f"{admin.url}/guke/1.html", "/go.html", "/a/1.html")
        site.extra["/go.html"] = (302, {"Location": f"{admin.url}/guke/2.html"}, b"")
        site.extra["/sitemap.xml"] = urlset(f"{admin.url}/neike/1.html", f"{site.url}/a/2.html")
        crawl(tmp_path / "home", site.url + "/")
    assert admin.requests == []
    stored = stored_urls(tmp_path / "home")
    assert {site.url + "/a/1.html", site.url + "/a/2.html"} <= set(stored)
    assert not [url for url in stored if url.startswith(admin.url)]
    refused = crawl_entry(tmp_path / "home", site.url + "/go.html")
    assert refused.state == "failed" and refused.note.endswith(": another site")


def test_a_robots_txt_redirected_to_another_host_is_not_followed(tmp_path):
    with FixtureSite(host="127.0.0.2") as metadata, FixtureSite() as site:
        moved = f"{metadata.url}/latest/meta-data/"
        site.extra["/robots.txt"] = (302, {"Location": moved}, b"")
        report = crawl(tmp_path / "home", site.url + "/")
    assert metadata.requests == []
    assert report["skipped_robots"] >= 1 and report["added"] == 0  # its rules could not be read


def test_an_internal_address_is_refused_unless_a_start_address_is_on_it(tmp_path):
    with FixtureSite(host="127.0.0.2") as internal, FixtureSite(crawl_delay=None) as site:
        site.extra["/robots.txt"] = ALLOW_ALL
        site.extra["/"] = links_page(f"{internal.url}/guke/1.html", "/a/1.html")
        crawl(tmp_path / "home", site.url + "/", "--any-site", "--max-depth", "1")
        assert internal.requests == []
        stored = stored_urls(tmp_path / "home")
        assert site.url + "/a/1.html" in stored and all(u.startswith(site.url) for u in stored)
        crawl(tmp_path / "intranet", internal.url + "/guke/1.html", "--max-pages", "1")
        assert stored_urls(tmp_path / "intranet") == [internal.url + "/guke/1.html"]


def test_addresses_inside_a_network_are_named_and_refused():
    kinds = {
        address: non_public(ipaddress.ip_address(address))
        for address in ("127.0.0.2", "169.254.169.254", "10.1.2.3", "::ffff:192.168.0.1")
    }
    assert kinds == {
        "127.0.0.2": "loopback",
        "169.254.169.254": "link-local",
        "10.1.2.3": "private",
        "::ffff:192.168.0.1": "private",
    }
    assert non_public(ipaddress.ip_address("224.0.0.1")) == "multicast"
    assert non_public(ipaddress.ip_address("93.184.216.34")) is None
    addresses = Addresses()
    addresses.allow_start("127.0.0.1")
    assert str(addresses.checked("127.0.0.1")) == "127.0.0.1"
    with pytest.raises(Refused, match=r"169\.254\.169\.254 is a link-local address"):
        addresses.checked("169.254.169.254")


class DripServer(socketserver.ThreadingTCPServer):
    """Answers /slow.html one byte every 0.2 s (a whole minute for the page); anything else
    is a quick 404."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), DripHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.page = article_html("/a/1.html").encode()[:250]

    def __enter__(self) -> DripServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class DripHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        path = self.rfile.readline().split()[1]
        while self.rfile.readline().strip():
            pass
        if path != b"/slow.html":
            self.wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(self.server.page)}"
        )
        try:
            for byte in (head + "\r\n\r\n").encode() + self.server.page:
                self.wfile.write(bytes([byte]))
                time.sleep(0.2)
        except OSError:  # the crawler hung up
            pass


def test_a_page_that_trickles_in_is_given_up_at_the_request_deadline(tmp_path):
    home = tmp_path / "home"
    with DripServer() as server:
        report = crawl(home, server.url + "/slow.html", "--timeout", "2")
    assert report["errors"] == 1 and report["added"] == 0
    failed = crawl_entry(home, server.url + "/slow.html")
    assert failed.state == "failed" and failed.note == "no complete answer within 2 s"


@dataclass
class FloodSite(FixtureSite):
    """A sitemap index of 5,000 sitemaps of 2,000 addresses each, every address an article."""

    crawl_delay: float | None = None

    def respond(self, path: str, asked: object) -> tuple[int, dict[str, str], bytes]:
        xml = {"Content-Type": "application/xml"}
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, f"Sitemap: {self.url}/index.xml".encode()
        if path == "/index.xml":
            entries = "".join(f"<sitemap><loc>/s/{n}.xml.gz</loc></sitemap>" for n in range(5000))
            return 200, xml, f"<sitemapindex>{entries}</sitemapindex>".encode()
        if path.startswith("/s/"):
            number = path.removeprefix("/s/").removesuffix(".xml.gz")
            pages = [f"{self.url}/p/{number}-{n}.html" for n in range(2000)]
            return 200, xml, gzip.compress(urlset(*pages)[2])
        if path.startswith("/p/"):
            title = f"第{path.removeprefix('/p/').removesuffix('.html')}号问题：头痛怎么办"
            page = f"<html><body><h1>{title}</h1><p>头痛时先休息，{title}的答案是多喝水。</p>"
            return 200, HTML, f"{page}</body></html>".encode()
        return 404, HTML, b""


def test_a_sitemap_flood_is_read_in_proportion_to_max_pages(tmp_path):
    home = tmp_path / "home"
    with FloodSite() as site:
        report = crawl(home, site.url + "/", "--max-pages", "5")
    asked = [r.path for r in site.requests]
    sitemaps = [path for path in asked if path.startswith("/s/")]
    pages = [path for path in asked if path.startswith("/p/")]
    assert report["added"] == 4 and len(pages) == 4  # the fifth page was the start, a 404
    assert len(sitemaps) == 1 and asked.index("/") < asked.index(sitemaps[0])
    store = ArticleStore(Settings.load(home).db_path)
    try:
        known = sum(CrawlState.counts(store).values())
    finally:
        store.close()
    assert known <= 5 * 20 + 5  # the queue the five pages allow, the index and the sitemap
    assert report["not_queued"] >= 1900


def test_a_missing_page_is_asked_again_only_after_a_wait_that_grows(tmp_path):
    home = tmp_path / "home"
    with FixtureSite(crawl_delay=None) as site:
        site.extra["/robots.txt"] = ALLOW_ALL
        site.extra["/"] = links_page("/missing/1.html", "/missing/2.html", "/a/1.html")
        first = crawl(home, site.url + "/")
        site.requests.clear()
        second = crawl(home, site.url + "/", "--refresh", "--revisit-after", "0")
    assert first["errors"] == 2  # the two links (a sitemap.xml guessed at is no error)
    assert not [r for r in site.requests if r.path.startswith("/missing/")]
    assert second["errors"] == 0 and second["not_modified"] >= 1


def test_a_crawl_stopped_by_max_pages_says_so(tmp_path):
    with FixtureSite(crawl_delay=None) as site:
        done = run_cli(
            "crawl", site.url + "/", "--delay", "0", "--max-pages", "3", home=tmp_path / "home"
        )
    assert "stopped at --max-pages 3 with" in done.stderr and "run it again" in done.stderr


def test_one_crawl_at_a_time_writes_to_a_store(tmp_path):
    home = tmp_path / "home"
    service = Service(Settings.load(home))
    lock = service.store.writer_lock("crawl")
    assert lock.acquire()
    try:
        done = run_cli("crawl", "http://127.0.0.1:9/", home=home, check=False)
    finally:
        lock.release()
        service.close()
    assert done.returncode == 2 and "another crawl is writing to" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_live_report_counts_pages_that_are_not_articles_and_shows_the_phase_after_the_fetch(
    tmp_path,
):
    seen: list[tuple[str, int]] = []
    service = Service(replace(Settings.load(tmp_path / "home"), dense=False))
    try:
        with FixtureSite(crawl_delay=None) as site:
            service.crawling.crawl(
                [site.url + "/"],
                CrawlOptions(delay_s=0),
                on_visit=lambda report: seen.append((report.phase, report.counts["not_articles"])),
            )
    finally:
        service.close()
    assert seen[-1][0] == "indexing" and {phase for phase, _ in seen[:-1]} == {"fetching"}
    assert seen[-1][1] == 7  # the home page and the six category pages


def test_a_crawl_state_from_an_earlier_version_is_kept_and_upgraded(tmp_path):
    store = ArticleStore(tmp_path / "store.db")
    with store.transaction() as conn:
        conn.execute(
            "CREATE TABLE crawl_urls (url TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT"
            " NULL, priority INTEGER NOT NULL, depth INTEGER NOT NULL, due REAL NOT NULL DEFAULT"
            " 0, attempts INTEGER NOT NULL DEFAULT 0, status INTEGER, etag TEXT, last_modified"
            " TEXT, fetched_at REAL, gone_since REAL, articles TEXT NOT NULL DEFAULT '[]', note"
            " TEXT)"
        )
        conn.execute("CREATE TABLE crawl_hosts (origin TEXT PRIMARY KEY, ready_at REAL NOT NULL)")
        conn.execute(
            "INSERT INTO crawl_urls (url, kind, state, priority, depth, articles)"
            " VALUES ('http://site.example/a.html', 'page', 'done', 3, 1, '[\"a-1\"]')"
        )
    try:
        known = CrawlState(store).get("http://site.example/a.html")
    finally:
        store.close()
    assert (known.state, known.articles, known.failures) == ("done", ["a-1"], 0)
