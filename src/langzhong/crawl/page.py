"""A fetched page (live or archived) to its links and its articles, with ``ingest``'s parsers."""

from __future__ import annotations

from dataclasses import dataclass, field

from langzhong.core import Article
from langzhong.crawl.discover import PageLinks, page_links
from langzhong.ingest.decode import UnreadableInput, charset_of, decode_text
from langzhong.ingest.html import looks_like_html
from langzhong.ingest.sources import Rejection, read_page

PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


@dataclass
class FetchedPage:
    links: PageLinks
    items: list[Article | Rejection] = field(default_factory=list)
    skipped: str | None = None  # why no article was read from it


def is_page_type(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in PAGE_TYPES


def read_fetched(url: str, body: bytes, content_type: str) -> FetchedPage:
    """Links to follow, and the articles unless the page is a list of links or asks not to be
    indexed; the body is decoded once, in the charset its server named, else as a file is."""
    if not is_page_type(content_type):
        return FetchedPage(PageLinks(), skipped=f"not a page ({content_type})")
    try:
        text = decode_text(body, charset_of(content_type))
    except UnreadableInput as error:
        return FetchedPage(PageLinks(), [Rejection(url, str(error))])
    if not looks_like_html(text):
        return FetchedPage(PageLinks(), read_page(url, text))
    links = page_links(text, url)
    if not links.index:
        return FetchedPage(links, skipped="noindex")
    if links.listing:
        return FetchedPage(links, skipped="a list of links, not an article")
    return FetchedPage(links, read_page(url, text))
