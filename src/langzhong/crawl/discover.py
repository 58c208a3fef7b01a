"""Where the next pages come from: sitemaps (indexes, gzipped), RSS/Atom feeds and a page's links,
its 相关阅读 links first.

trafilatura's sitemap and feed readers and courlan's URL checks refuse hosts that are IP
addresses (a site on loopback, an intranet), so the XML is read here with lxml; courlan still
normalises addresses and recognises files that are not pages.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urlsplit

import courlan
import lxml.etree
import lxml.html

from langzhong.ingest.html import related_links
from langzhong.ingest.sources import GZIP_MAGIC

ATOM_NS = "{http://www.w3.org/2005/Atom}"
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
MAX_SITEMAP_BYTES = 50 << 20  # the sitemaps protocol's own limit, uncompressed
_XML = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)


def normalize(url: str, base: str | None = None, page: bool = True) -> str | None:
    """The address in one canonical form (no fragment, no tracking parameters), or None when
    it is not an http(s) address (``page``: of a page, not an image, archive or document)."""
    if base:
        url = courlan.fix_relative_urls(base, url.strip())
    url = urldefrag(url.strip()).url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if page and not courlan.filters.extension_filter(url):
        return None
    try:
        return courlan.normalize_url(url)
    except ValueError:
        return None


@dataclass
class PageLinks:
    related: list[str] = field(default_factory=list)  # under 相关阅读, followed first
    other: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)  # <link rel="alternate" type="…rss+xml">
    follow: bool = True  # <meta name="robots" content="nofollow"> says no
    index: bool = True  # <meta name="robots" content="noindex"> says no


def page_links(tree: lxml.html.HtmlElement, url: str) -> PageLinks:
    base = next((b.get("href") for b in tree.iter("base") if b.get("href")), None) or url
    found = PageLinks()
    for meta in tree.iter("meta"):
        if (meta.get("name") or "").lower() in ("robots", "langzhong"):
            words = (meta.get("content") or "").lower()
            found.follow &= "nofollow" not in words and "none" not in words
            found.index &= "noindex" not in words and "none" not in words
    for link in tree.iter("link"):
        is_feed = link.get("type") in FEED_TYPES and "alternate" in (link.get("rel") or "")
        if is_feed and (feed := normalize(link.get("href") or "", base, page=False)):
            found.feeds.append(feed)
    related = related_links(tree)  # kept alive: lxml elements compare by proxy identity
    for anchor in tree.iter("a"):
        if "nofollow" in (anchor.get("rel") or "").lower():
            continue
        target = normalize(anchor.get("href") or "", base)
        if target and target != url:
            (found.related if anchor in related else found.other).append(target)
    found.related = list(dict.fromkeys(found.related))
    found.other = [u for u in dict.fromkeys(found.other) if u not in found.related]
    return found


def _unzipped(body: bytes) -> bytes:
    """A gzipped sitemap or feed as its XML or text, within the protocol's size."""
    if not body.startswith(GZIP_MAGIC):
        return body
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
        return unzipped.read(MAX_SITEMAP_BYTES)


def _xml(body: bytes) -> lxml.etree._Element | None:
    try:
        return lxml.etree.fromstring(body.strip(), _XML)
    except lxml.etree.XMLSyntaxError:
        return None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass
class SitemapEntries:
    sitemaps: list[str] = field(default_factory=list)  # a sitemap index's sitemaps
    pages: list[tuple[str, str | None]] = field(default_factory=list)  # (address, lastmod)


def sitemap_entries(body: bytes, url: str) -> SitemapEntries:
    """A sitemap (XML, gzipped or not, or one address a line) or a sitemap index."""
    found = SitemapEntries()
    body = _unzipped(body)
    root = _xml(body)
    if root is None:  # the plain-text form
        lines = body.decode("utf-8", errors="replace").split()
        found.pages = [(u, None) for line in lines if (u := normalize(line, url))]
        return found
    index = _local(root.tag) == "sitemapindex"
    for entry in root:
        fields = {_local(child.tag): (child.text or "").strip() for child in entry}
        address = normalize(fields.get("loc", ""), url, page=not index)
        if not address:
            continue
        if index:
            found.sitemaps.append(address)
        else:
            found.pages.append((address, fields.get("lastmod") or None))
    return found


def feed_entries(body: bytes, url: str) -> list[str]:
    """The article addresses of an RSS or Atom feed."""
    root = _xml(_unzipped(body))
    if root is None:
        return []
    found = [e.text or "" for e in root.iter("link") if _local(e.getparent().tag) == "item"]
    found += [
        e.get("href", "")
        for e in root.iter(f"{ATOM_NS}link")
        if _local(e.getparent().tag) == "entry" and e.get("rel") in (None, "alternate")
    ]
    return list(dict.fromkeys(a for text in found if (a := normalize(text, url))))
