"""A fetched page (live or archived) to its links and its articles, with ``ingest``'s parsers."""

from __future__ import annotations

from dataclasses import dataclass, field

import lxml.etree
import lxml.html

from langzhong.core import Article
from langzhong.crawl.discover import PageLinks, page_links
from langzhong.crawl.kinds import page_kind
from langzhong.ingest.decode import UnreadableInput, charset_of, decode_text
from langzhong.ingest.html import looks_like_html
from langzhong.ingest.sources import Rejection, read_page

PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


@dataclass
class FetchedPage:
    links: PageLinks
    items: list[Article | Rejection] = field(default_factory=list)
    skipped: str | None = None  # why no article was read from it
    not_article: bool = False  # skipped as a list or the site's own page


def is_page_type(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in PAGE_TYPES


def read_fetched(url: str, body: bytes, content_type: str) -> FetchedPage:
    """Links to follow, and the articles unless the page is not an article page (``kinds.py``)
    or asks not to be indexed; the body is decoded once (``decode_text``)."""
    if not is_page_type(content_type):
        return FetchedPage(PageLinks(), skipped=f"not a page ({content_type})")
    try:
        text = decode_text(body, charset_of(content_type))
    except UnreadableInput as error:
        return FetchedPage(PageLinks(), [Rejection(url, str(error))])
    if not looks_like_html(text):
        return FetchedPage(PageLinks(), read_page(url, text))
    try:
        tree = lxml.html.fromstring(text)
    except (lxml.etree.ParserError, ValueError):
        return FetchedPage(PageLinks(), read_page(url, text))
    links = page_links(tree, url)
    if not links.index:
        return FetchedPage(links, skipped="noindex")
    if kind := page_kind(url, tree):
        return FetchedPage(links, skipped=f"not an article: {kind}", not_article=True)
    return FetchedPage(links, read_page(url, text))
