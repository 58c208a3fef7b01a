"""The operator's trial in CI size: a generated 200-article health site (tests/trial_site.py)
crawled into an embedded home, and into a shared PostgreSQL store kept fresh by ``--refresh``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import run_cli
from fixture_site import FixtureSite
from trial_site import ENTRIES, TrialSite

from langzhong.config import Settings
from langzhong.core import Article
from langzhong.service import Service


@pytest.fixture
def sites(monkeypatch):
    """The site, and an "admin" server on another port of the same host that it links to."""
    monkeypatch.setenv("LANGZHONG_DENSE", "off")  # vectors are not what is crawled here
    with FixtureSite() as admin, TrialSite(admin=admin.url) as site:
        yield site, admin


def crawl(home: Path, site: TrialSite, *args: str) -> dict:
    done = run_cli(
        "crawl", site.url + "/", "--delay", "0", "--max-pages", "1000", "--json", *args, home=home
    )
    return json.loads(done.stdout)


def articles(home: Path, store_url: str = "") -> list[Article]:
    service = Service(replace(Settings.load(home), store_url=store_url, dense=False))
    try:
        return list(service.store.iter_articles())
    finally:
        service.close()


def right_and_wrong(site: TrialSite, stored: list[Article]) -> tuple[int, list[Article]]:
    """How many article pages were stored with their title, date and sections, and what else
    was stored."""
    expected = {site.url + e.path: (e.title, e.date, e.headings) for e in ENTRIES}
    right = sum(
        (a.title, a.date, tuple(s.heading for s in a.sections)) == expected.get(a.url)
        for a in stored
    )
    return right, [a for a in stored if a.url not in expected]


def test_a_trial_site_is_stored_as_its_article_pages_and_nothing_else(tmp_path, sites):
    site, admin = sites
    report = crawl(tmp_path / "home", site)
    right, others = right_and_wrong(site, articles(tmp_path / "home"))
    assert right >= 0.98 * len(ENTRIES), report
    assert others == [], [(a.url, a.title) for a in others]
    assert admin.requests == []  # nothing asked outside the start address's origin
    assert report["not_articles"] >= 4 * 5 + 50 + 3  # channel pages, tag pages, 免责声明…
    assert sum(e.title.endswith(("？", "?")) for e in ENTRIES) == len(ENTRIES) // 2


def test_a_crawl_into_postgresql_then_a_refresh_removes_a_deleted_page(
    tmp_path, sites, postgres_url, monkeypatch
):
    site, _ = sites
    monkeypatch.setenv("LANGZHONG_STORE_URL", postgres_url)
    first = crawl(tmp_path / "crawler", site)
    assert first["added"] == len(ENTRIES)
    deleted = ENTRIES[7]
    site.remove(deleted.path)
    refresh = ("--refresh", "--revisit-after", "0", "--gone-grace", "0")
    second = crawl(tmp_path / "crawler", site, *refresh)
    assert (second["removed"], second["added"], second["updated"]) == (1, 0, 0)
    assert second["not_modified"] >= len(ENTRIES) - 1
    # Read from another machine's home: the shared store no longer has it (and every server's
    # index follows the store's change log, tests/test_scale_out.py).
    stored = articles(tmp_path / "server", postgres_url)
    assert len(stored) == len(ENTRIES) - 1 and deleted.title not in {a.title for a in stored}
