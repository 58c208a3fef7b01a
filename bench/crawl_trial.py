"""The operator's trial on loopback: how `langzhong crawl` does on a generated health site.

Usage: python bench/crawl_trial.py [--store-url postgresql://…] [--json OUT]
Serves tests/trial_site.py (200 articles, half titled as questions, a quarter in GBK, channel,
tag and search pages with summaries, 免责声明 / 关于我们 / 联系我们, a sitemap index,
Crawl-delay 0) beside an "admin" server on another port that the site links to, crawls it with
--delay 0 into a fresh home (or into the PostgreSQL store named), then removes one page and runs
--refresh. Reports the crawl's own figures, how many article pages were stored with the right
title, date and sections, what else was stored, and what the admin server was asked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixture_site import FixtureSite
from trial_site import ENTRIES, TrialSite

from langzhong.config import Settings
from langzhong.service import Service


def crawl(home: Path, site: TrialSite, env: dict[str, str], *args: str) -> dict:
    command = [sys.executable, "-m", "langzhong", "--home", str(home), "crawl", site.url + "/"]
    command += ["--delay", "0", "--max-pages", "1000", "--json", *args]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout) | {"command_s": round(time.monotonic() - started, 2)}


def stored_figures(home: Path, site: TrialSite, store_url: str) -> dict:
    service = Service(replace(Settings.load(home), store_url=store_url, dense=False))
    try:
        stored = list(service.store.iter_articles())
    finally:
        service.close()
    expected = {site.url + e.path: (e.title, e.date, e.headings) for e in ENTRIES}
    right = sum(
        (a.title, a.date, tuple(s.heading for s in a.sections)) == expected.get(a.url)
        for a in stored
    )
    others = [a.url for a in stored if a.url not in expected]
    return {"article_pages": len(ENTRIES), "stored_right": right, "stored_others": others}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-url", default="", help="crawl into this PostgreSQL store")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    env = {**os.environ, "LANGZHONG_DENSE": "off", "LANGZHONG_STORE_URL": options.store_url}
    with (
        FixtureSite() as admin,
        TrialSite(admin=admin.url) as site,
        tempfile.TemporaryDirectory() as folder,
    ):
        home = Path(folder) / "home"
        first = crawl(home, site, env)
        figures = {"crawl": first, **stored_figures(home, site, options.store_url)}
        site.remove(ENTRIES[7].path)
        refresh = ("--refresh", "--revisit-after", "0", "--gone-grace", "0")
        figures["refresh_after_removing_one_page"] = crawl(home, site, env, *refresh)
        figures["admin_requests"] = len(admin.requests)
    figures["store"] = "postgresql" if options.store_url else "sqlite"
    print(json.dumps(figures, indent=2))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
