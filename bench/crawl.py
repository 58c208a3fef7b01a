"""How fast `langzhong crawl` fetches and stores a site on loopback, polite and flat out.

Usage: python bench/crawl.py [--pages 300] [--json OUT]
Serves the test suite's fixture site (tests/fixture_site.py, no Crawl-delay) with PAGES more
article pages in its template, made from the bundled demo rows (question as title, the doctor's
answer as text; distinct titles) and listed on /more/, then crawls it into a fresh home twice:
at the polite default (--delay 1, so only the first 30 pages) and with --delay 0. Then a
--refresh re-crawl of the flat-out home, where every article answers 304. Reports the crawl's
own pages/s (fetches answered per second of crawling, process start not counted).
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixture_site import ARTICLES, FixtureSite


def add_pages(site: FixtureSite, count: int) -> None:
    """COUNT more articles (distinct titles) in the site's template, each with its ETag."""
    demo = resources.files("langzhong.demo").joinpath("medical-dialogue-im.jsonl.gz")
    titles: dict[str, str] = {}
    with gzip.open(demo.open("rb"), "rt", encoding="utf-8") as rows:
        for row in map(json.loads, rows):
            titles.setdefault(row["title"].rstrip("？?"), row["answer"])
            if len(titles) == count:
                break
    links = []
    for number, (title, answer) in enumerate(titles.items()):
        path = f"/more/{number}.html"
        ARTICLES[path] = (title, "2023-01-01", answer, [], [])
        links.append(f'<li><a href="{path}">{html.escape(title)}</a></li>')
    listing = f"<html><body><h1>更多</h1><ul>{''.join(links)}</ul></body></html>".encode()
    site.extra["/more/"] = (200, {"Content-Type": "text/html; charset=utf-8"}, listing)


def crawl(home: Path, site: FixtureSite, *args: str) -> dict:
    command = [sys.executable, "-m", "langzhong", "--home", str(home), "crawl"]
    command += [site.url + "/", site.url + "/more/", "--max-pages", "1000", "--json", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    with FixtureSite(crawl_delay=None) as site, tempfile.TemporaryDirectory() as folder:
        add_pages(site, options.pages)
        polite = crawl(Path(folder) / "polite", site, "--max-pages", "30")
        flat_out = crawl(Path(folder) / "fast", site, "--delay", "0")
        refresh = crawl(
            Path(folder) / "fast", site, "--delay", "0", "--refresh", "--revisit-after", "0"
        )
    figures = {"polite_default_first_30": polite, "delay_0": flat_out, "refresh_delay_0": refresh}
    print(json.dumps(figures, indent=2))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
