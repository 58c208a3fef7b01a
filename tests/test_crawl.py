"""`langzhong crawl` against a health site served on loopback by the test itself (no internet):
robots.txt, sitemaps, feeds, links, politeness, conditional re-crawls, gone pages, the archive,
and a crawl killed mid-way."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli
from fixture_site import (
    ARTICLES,
    DISALLOWED,
    EXPECTED_TITLES,
    FEED_ONLY,
    GBK_PAGE,
    LINK_ONLY,
    REDIRECTS,
    RELATED_TITLE,
    RETRY_ONCE,
    SEED_TITLE,
    FixtureSite,
)

from langzhong.config import Settings
from langzhong.crawl.discover import feed_entries, normalize, sitemap_entries
from langzhong.crawl.options import CrawlOptions
from langzhong.ingest.decode import charset_of, decode_text
from langzhong.service import Service

ARTICLE_PAGES = {"/guke/1.html", *ARTICLES}


def crawl(home: Path, site: FixtureSite, *args: str) -> dict:
    done = run_cli("crawl", site.url + "/", "--max-pages", "50", "--json", *args, home=home)
    return json.loads(done.stdout)


def stored(home: Path) -> dict[str, dict]:
    service = Service(Settings.load(home))
    try:
        return {a.title: a.model_dump() for a in service.store.iter_articles()}
    finally:
        service.close()


def search_titles(home: Path, question: str) -> list[str]:
    answer = json.loads(run_cli("ask", question, "--all", "--json", home=home).stdout)
    return [hit["title"] for hit in answer["hits"]]


@pytest.fixture
def site():
    with FixtureSite(crawl_delay=0.05) as running:
        yield running


def test_a_crawl_stores_the_site_politely_and_a_second_fetches_only_what_changed(tmp_path, site):
    home = tmp_path / "home"
    first = crawl(home, site, "--delay", "0")
    articles = stored(home)
    assert set(articles) == EXPECTED_TITLES
    # The seed's two articles are linked as when the seed file is ingested.
    seed, related = articles[SEED_TITLE], articles[RELATED_TITLE]
    assert seed["related"][0]["id"] == related["id"]
    assert related["related"][0]["id"] == seed["id"]
    assert seed["url"] == site.url + "/guke/1.html" and seed["source"] == "乡间郎中"
    assert articles["糖尿病早期症状有哪些"]["url"] == site.url + REDIRECTS["/old/4.html"]
    assert "每天食盐不超过五克" in json.dumps(
        articles["高血压患者饮食注意什么"], ensure_ascii=False
    )
    assert "广告" not in json.dumps(articles, ensure_ascii=False)  # the parser ingest uses
    # Found through the sitemap index's gzipped sitemap, the feed and the 相关阅读 links.
    assert site.fetched("/sitemaps/articles.xml.gz") and site.fetched(FEED_ONLY)
    assert site.fetched(LINK_ONLY)
    # Polite: robots.txt read once and obeyed, a User-Agent naming langzhong, Crawl-delay kept,
    # the 429 retried after its Retry-After.
    assert len(site.fetched("/robots.txt")) == 1 and not site.fetched(DISALLOWED)
    assert all("langzhong" in r.headers["User-Agent"] for r in site.requests)
    times = [r.at for r in site.requests]
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.04
    retried = site.fetched(RETRY_ONCE)
    assert [r.status for r in retried] == [429, 200] and retried[1].at - retried[0].at >= 1.0
    assert first["added"] == 12 and first["skipped_robots"] == 1 and first["errors"] == 0
    assert len(list((home / "archive").glob("*.warc.gz"))) == 1

    site.requests.clear()
    site.change("/neike/1.html", "新版：儿童退烧药要按体重计算剂量。")
    site.remove("/neike/2.html")
    second = crawl(
        home, site, "--delay", "0", "--refresh", "--revisit-after", "0", "--gone-grace", "0"
    )
    page_answers = {r.path: r.status for r in site.requests if r.path in ARTICLE_PAGES}
    assert page_answers.pop("/neike/1.html") == 200 and page_answers.pop("/neike/2.html") == 410
    assert set(page_answers.values()) == {304}, page_answers
    assert all("If-None-Match" in r.headers for r in site.requests if r.path in page_answers)
    assert (second["updated"], second["added"], second["gone"], second["removed"]) == (1, 0, 1, 1)
    articles = stored(home)
    assert "胃痛怎么缓解" not in articles
    assert "按体重计算剂量" in json.dumps(articles["感冒发烧吃什么药好"], ensure_ascii=False)
    assert "胃痛怎么缓解" not in search_titles(home, "胃痛怎么缓解")
    assert "感冒发烧吃什么药好" in search_titles(home, "感冒发烧吃什么药好")

    # The archive extracts again into another store without fetching anything.
    site.requests.clear()
    again = tmp_path / "again"
    done = run_cli("ingest", "--from-archive", str(home / "archive"), "--json", home=again)
    assert json.loads(done.stdout)["added"] >= 12 and not site.requests
    assert set(stored(again)) >= EXPECTED_TITLES


def test_a_killed_crawl_resumes_without_fetching_pages_twice(tmp_path, site):
    home = tmp_path / "home"
    env = {**os.environ, "LANGZHONG_HOME": str(home)}
    args = [sys.executable, "-m", "langzhong", "crawl", site.url + "/", "--delay", "0.15"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while sum(r.path in ARTICLE_PAGES for r in site.requests) < 6:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = len(stored(home))
    assert 0 < before < 12
    crawl(home, site, "--delay", "0")
    assert set(stored(home)) == EXPECTED_TITLES
    bodies = [r.path for r in site.requests if r.path in ARTICLE_PAGES and r.status == 200]
    twice = {path for path in bodies if bodies.count(path) > 1}
    assert len(twice) <= 1, twice  # at most the page in flight when the crawl was killed


def test_a_plain_second_crawl_revisits_only_the_start_and_the_discovery_files(tmp_path, site):
    home = tmp_path / "home"
    crawl(home, site, "--delay", "0")
    site.requests.clear()
    report = crawl(home, site, "--delay", "0")
    assert not [r.path for r in site.requests if r.path in ARTICLE_PAGES]
    assert {r.path for r in site.requests} >= {"/", "/sitemap_index.xml", "/feed.xml"}
    assert report["added"] == report["updated"] == 0


def test_robots_txt_that_cannot_be_read_stops_the_crawl_of_that_host(tmp_path, site):
    site.extra["/robots.txt"] = (503, {}, b"")
    report = crawl(tmp_path / "home", site, "--delay", "0")
    assert [r.path for r in site.requests] == ["/robots.txt"]
    assert report["skipped_robots"] == 2 and report["added"] == 0  # "/" and /sitemap.xml


def test_oversized_pages_and_redirects_off_site_are_refused(tmp_path, site, monkeypatch):
    monkeypatch.setenv("LANGZHONG_MAX_FILE_MB", "1")  # /big.html is 2 MB
    site.extra["/robots.txt"] = (200, {}, b"User-agent: *\nDisallow:\n")
    site.extra["/"] = (
        200,
        {"Content-Type": "text/html"},
        b'<html><body><a href="/big.html">big</a> <a href="/away.html">away</a></body></html>',
    )
    site.extra["/big.html"] = (200, {"Content-Type": "text/html"}, b"<p>" + b"x" * (2 << 20))
    site.extra["/away.html"] = (302, {"Location": "http://192.0.2.1/elsewhere.html"}, b"")
    home = tmp_path / "home"
    done = run_cli(
        "--home",
        str(home),
        "crawl",
        site.url + "/",
        "--delay",
        "0",
        "--json",
        home=home,
        check=False,
    )
    report = json.loads(done.stdout)
    assert report["errors"] == 2 and report["added"] == 0  # /big.html and /away.html
    assert not [r for r in site.requests if "elsewhere" in r.path]


def test_discovery_reads_sitemaps_feeds_and_header_charsets():
    base = "http://127.0.0.1:9/"
    index = sitemap_entries(
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap>'
        b"<loc>http://127.0.0.1:9/s.xml.gz</loc></sitemap></sitemapindex>",
        base,
    )
    assert index.sitemaps == ["http://127.0.0.1:9/s.xml.gz"] and not index.pages
    urlset = gzip.compress(
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>/a.html</loc>'
        b"<lastmod>2024-05-01</lastmod></url><url><loc>/b.pdf</loc></url></urlset>"
    )
    assert sitemap_entries(urlset, base).pages == [("http://127.0.0.1:9/a.html", "2024-05-01")]
    assert sitemap_entries(b"http://127.0.0.1:9/t.html\n", base).pages[0][0].endswith("t.html")
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><link href="/"/><entry>'
        b'<link rel="alternate" href="/e.html?utm_source=rss"/></entry></feed>'
    )
    assert feed_entries(atom, base) == ["http://127.0.0.1:9/e.html"]
    assert normalize("javascript:alert(1)", base) is None and normalize("/x.jpg", base) is None
    assert charset_of("text/html; charset=GBK") == "gb18030"
    assert decode_text("胃痛".encode("gbk"), charset_of("text/html;charset=gbk")) == "胃痛"


def test_a_wrong_charset_header_loses_to_the_body(tmp_path, site):
    lead = "高血壓患者每天食鹽不超過五克，少吃醃製食品，戒菸限酒。"

    def page(title: str, head: str = "") -> str:
        sections = "<h2>一、多吃什麼</h2><p>多吃新鮮蔬菜。</p>"
        return (
            f"<html><head>{head}</head><body><h1>{title}</h1><p>{lead}</p>{sections}</body></html>"
        )

    latin = {"Content-Type": "text/html; charset=iso-8859-1"}
    gbk = {"Content-Type": "text/html; charset=gbk"}  # and the <meta> says big5
    pages = {
        "/utf8.html": ("高血壓吃什麼好", latin, "utf-8", ""),
        "/big5.html": ("高血壓能根治嗎", latin, "big5", ""),
        "/meta.html": ("高血壓會遺傳嗎", gbk, "big5", '<meta charset="big5">'),
    }
    for path, (title, headers, encoding, head) in pages.items():
        site.extra[path] = (200, headers, page(title, head).encode(encoding))
    service = Service(Settings.load(tmp_path / "home"))
    try:
        seeds = [site.url + path for path in pages]
        service.crawling.crawl(seeds, CrawlOptions(max_pages=3, delay_s=0))
        stored = {a.title: a.lead for a in service.store.iter_articles()}
    finally:
        service.close()
    assert stored == {title: lead for title, *_ in pages.values()}


def test_a_start_address_must_be_a_web_page(tmp_path):
    done = run_cli("crawl", "ftp://example.org/", home=tmp_path / "home", check=False)
    assert done.returncode == 2 and "http(s)" in done.stderr


def test_the_gbk_page_is_read_in_the_charset_its_server_names(tmp_path, site):
    service = Service(Settings.load(tmp_path / "home"))
    try:
        report = service.crawling.crawl([site.url + GBK_PAGE], CrawlOptions(max_pages=1, delay_s=0))
    finally:
        service.close()
    assert report.as_dict()["added"] == 1
    assert "高血压患者饮食注意什么" in stored(tmp_path / "home")
