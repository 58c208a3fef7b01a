"""HTML pages: main-content extraction with trafilatura, then the plain-text structure parser.

What trafilatura leaves out or changes is taken from the page itself: the 相关阅读 links (it
drops the block as boilerplate), the site's name as the page writes it (it title-cases Latin
names) and the ``<h1>`` title; its Markdown escapes and list markers are undone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import lxml.html
import trafilatura
from trafilatura.settings import use_config

from langzhong.core import Article
from langzhong.ingest.pages import (
    MAX_TITLE_CHARS,
    RELATED_HEADER,
    NotAPage,
    parse_date,
    parse_page,
)

# Below this many characters trafilatura falls back to a baseline that runs the whole article
# into one paragraph; its default (250) is sized for alphabetic text, and a short Chinese
# article of three sections is about that long.
MIN_EXTRACTED_CHARS = 60
CONFIG = use_config()
CONFIG.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(MIN_EXTRACTED_CHARS))
# Dates the page marks as its own (meta tags, <time>), not any year in a copyright line.
DATES = {"extensive_search": False, "original_date": True}
SITE_NAME_META = ("og:site_name", "application-name")
TITLE_PARTS = re.compile(r"\s*[-_|｜—–]+\s*")
BYLINE_SIBLINGS = 3
BYLINE_AUTHOR = re.compile(r"(?:作者|医生|审核专家|审核)\s*[:：]\s*([^\s|｜,，;；]{2,30})")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+", re.M)
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:2048].lower()
    return head.startswith("<") and any(
        tag in head for tag in ("<html", "<body", "<head", "<p", "<div", "<!doctype")
    )


def _plain(markdown: str) -> str:
    """Markdown as the page's plain text: no list markers, emphasis or escapes."""
    text = _EMPHASIS.sub(r"\2", _LIST_MARKER.sub("", markdown))
    return _ESCAPED.sub(r"\1", text)


def _text(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _site_name(tree: lxml.html.HtmlElement) -> str | None:
    for name in SITE_NAME_META:
        for meta in tree.iter("meta"):
            if name in (meta.get("property"), meta.get("name")) and meta.get("content", "").strip():
                return meta.get("content").strip()
    return None


def _title_site(tree: lxml.html.HtmlElement, title: str | None) -> str | None:
    """The site named at the end of ``<title>`` ("宝宝发烧怎么办 - 育儿问答 - 小儿科普网")."""
    element = tree.find(".//title")
    parts = TITLE_PARTS.split(_text(element)) if element is not None else []
    if len(parts) > 1 and title and parts[0].strip() == title and 2 <= len(parts[-1]) <= 30:
        return parts[-1].strip()
    return None


def _byline(tree: lxml.html.HtmlElement) -> list[str]:
    """The lines just under the ``<h1>``, where a byline sits ("2021年3月2日 作者：王医生")."""
    return [
        _text(sibling)
        for heading in tree.iter("h1")
        for sibling in list(heading.itersiblings())[:BYLINE_SIBLINGS]
    ]


def _byline_author(line: str) -> str | None:
    found = BYLINE_AUTHOR.search(line)
    return found.group(1) if found else None


def _first(read: Callable[[str], str | None], lines: list[str]) -> str | None:
    return next((found for line in lines if (found := read(line))), None)


def _h1(tree: lxml.html.HtmlElement) -> str | None:
    """The page's one ``<h1>``, when it has exactly one."""
    found = [_text(h) for h in tree.iter("h1")]
    return found[0] if len(found) == 1 and found[0] else None


def related_links(tree: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The links under the page's first 相关阅读 (推荐阅读, …) heading."""
    for element in tree.iter("h2", "h3", "h4", "h5", "h6", "div", "p", "span", "strong", "dt"):
        label = _text(element)
        if len(label) > 80 or not RELATED_HEADER.search(label) or element.find(".//a") is not None:
            continue
        links = [
            link
            for sibling in element.itersiblings()
            for link in sibling.iter("a")
            if 0 < len(_text(link)) <= MAX_TITLE_CHARS
        ]
        if links:
            return links
    return []


def _related_titles(tree: lxml.html.HtmlElement, title: str | None) -> list[str]:
    titles = [_text(link) for link in related_links(tree)]
    return [t for n, t in enumerate(titles) if t != title and t not in titles[:n]]


def parse_html(html: str, *, source: str | None = None, url: str | None = None) -> list[Article]:
    """Articles of an HTML page; scripts, styles, navigation, comments and footers are left
    out."""
    body = trafilatura.extract(
        html,
        output_format="markdown",
        include_formatting=True,
        include_comments=False,
        include_tables=True,
        favor_recall=True,
        url=url,
        config=CONFIG,
    )
    if not body or not body.strip():
        raise NotAPage("no main content found in the HTML")
    tree = lxml.html.fromstring(html)
    meta = trafilatura.extract_metadata(html, default_url=url, date_config=DATES)
    described = meta.title.strip() if meta and meta.title else None
    heading = _h1(tree)
    # The <h1> is the article's own title; <title> often adds the section and the site.
    title = heading if heading and (not described or heading in described) else described
    site = _site_name(tree) or _title_site(tree, title) or (meta.sitename if meta else None)
    byline = _byline(tree)
    return parse_page(
        _plain(body),
        source=source or site,
        url=url
        or (meta.url if meta and (meta.url or "").startswith(("http://", "https://")) else None),
        title=title,
        date=(parse_date(meta.date) if meta and meta.date else None) or _first(parse_date, byline),
        related=_related_titles(tree, title),
        author=(meta.author if meta else None) or _first(_byline_author, byline),
    )
