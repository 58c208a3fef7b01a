"""HTML pages: main-content extraction with trafilatura, then the plain-text structure parser."""

from __future__ import annotations

import trafilatura

from langzhong.core import Article
from langzhong.ingest.pages import NotAPage, parse_date, parse_page


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:2048].lower()
    return head.startswith("<") and any(
        tag in head for tag in ("<html", "<body", "<head", "<p", "<div", "<!doctype")
    )


def parse_html(html: str, *, source: str | None = None, url: str | None = None) -> list[Article]:
    """Articles of an HTML page; scripts, styles, navigation and footers are left out."""
    body = trafilatura.extract(
        html,
        output_format="markdown",
        include_formatting=True,
        include_comments=False,
        include_tables=True,
        favor_recall=True,
        url=url,
    )
    if not body or not body.strip():
        raise NotAPage("no main content found in the HTML")
    meta = trafilatura.extract_metadata(html, default_url=url)
    title = meta.title.strip() if meta and meta.title else None
    return parse_page(
        body,
        source=source or (meta.sitename if meta and meta.sitename else None),
        url=url or (meta.url if meta else None),
        title=title,
        date=parse_date(meta.date) if meta and meta.date else None,
    )
