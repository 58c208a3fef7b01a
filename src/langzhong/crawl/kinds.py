"""Article pages told from the site's other pages, which are followed but never stored: lists
(home, channel, tag and search pages, paginated or not, with or without a summary under each
link) and the site's own pages (免责声明, 关于我们, …).

Signals, any one of which is enough:
- the address: a search (``/search``, ``?q=``), a tag folder (``/tag/``) or a page number other
  than the first (``?page=3``, ``/page/3/``, ``list_3.html``);
- the title (``<h1>``, else ``<title>`` before the site's name) is one of the site's own pages;
- the page is mostly link text, or its prose is mostly the summaries of a list: at least three
  sibling items that each start with a link titled like an article and go on with text of their
  own, holding at least half the page's text outside links.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import lxml.html

# A page whose visible text is mostly link text is a list of other pages, not an article.
LISTING_LINK_SHARE = 0.5
MIN_LIST_ITEMS = 3
ITEM_TITLE_CHARS = 5  # a link titled like an article, not 首页 or 下一页
ITEM_SUMMARY_CHARS = 20  # the item's own text beyond its links
ITEM_MAX_LINKS = 3
SEARCH_FOLDERS = {"search", "so", "sousuo"}
SEARCH_KEYS = {"q", "wd", "word", "kw", "keyword", "keywords", "query", "search"}
TAG_FOLDERS = {"tag", "tags", "label", "labels"}
PAGE_KEYS = {"page", "pn", "pg", "pageno", "page_no", "pagenum", "paged", "pageindex"}
NUMBERED_PAGE = re.compile(r"/page/(\d+)/?$|/(?:list|index)[_-](\d+)\.s?html?$", re.I)
SITE_PAGES = re.compile(
    r"^(免责声明|免责条款|隐私(政策|声明|条款|保护)|版权(声明|说明)|法律声明|服务条款|用户协议|"
    r"关于(我们|本站)|联系(我们|方式)|网站(地图|导航|简介)|广告(服务|合作)|商务合作|意见反馈|"
    r"投诉建议|加入我们|招聘信息|人才招聘|友情链接|帮助中心|使用帮助)$"
)
TITLE_PARTS = re.compile(r"\s*[-_|｜—–]+\s*")


def _chars(text: str) -> int:
    return len("".join(text.split()))


def _text(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def address_kind(url: str) -> str | None:
    parts = urlsplit(url)
    folders = {f.lower() for f in parts.path.split("/")[:-1] if f}
    query = {key.lower(): value for key, value in parse_qsl(parts.query)}
    if folders & SEARCH_FOLDERS or parts.path.lower().endswith(("/search", "/search.html")):
        return "a search page"
    if SEARCH_KEYS & query.keys():
        return "a search page"
    if folders & TAG_FOLDERS:
        return "a tag page"
    pages = [query[k] for k in PAGE_KEYS & query.keys()]
    numbered = NUMBERED_PAGE.search(parts.path)
    if any(p.isdigit() and int(p) > 1 for p in pages) or numbered:
        return "a numbered list page"
    return None


def _title(tree: lxml.html.HtmlElement) -> str:
    headings = [_text(h) for h in tree.iter("h1")]
    if len(headings) == 1 and headings[0]:
        return headings[0]
    element = tree.find(".//title")
    return TITLE_PARTS.split(_text(element))[0] if element is not None else ""


def _items(tree: lxml.html.HtmlElement) -> tuple[int, int]:
    """(how many, how many characters of their own text) in the largest run of sibling items
    that each start with an article-like link and carry a summary."""
    groups: Counter = Counter()
    prose: Counter = Counter()
    for element in tree.iter("li", "dd", "dl", "div", "article", "section", "tr"):
        anchors = element.findall(".//a")
        if not anchors or len(anchors) > ITEM_MAX_LINKS:
            continue
        if _chars(_text(anchors[0])) < ITEM_TITLE_CHARS:
            continue
        own = _chars(_text(element)) - sum(_chars(_text(a)) for a in anchors)
        if own >= ITEM_SUMMARY_CHARS:
            key = (element.getparent(), element.tag)
            groups[key] += 1
            prose[key] += own
    if not groups:
        return 0, 0
    key, count = groups.most_common(1)[0]
    return count, prose[key]


def page_kind(url: str, tree: lxml.html.HtmlElement) -> str | None:
    """Why the page is not an article (a short phrase), or None for an article page."""
    if kind := address_kind(url):
        return kind
    if SITE_PAGES.match(_title(tree)):
        return "the site's own page"
    body = tree.find("body")
    if body is None:
        return "a page without a body"
    text_chars = _chars(body.text_content())
    link_chars = sum(_chars(a.text_content()) for a in body.iter("a"))
    if text_chars == 0 or link_chars / text_chars >= LISTING_LINK_SHARE:
        return "a list of links"
    items, item_prose = _items(body)
    if items >= MIN_LIST_ITEMS and item_prose * 2 >= text_chars - link_chars:
        return "a list of articles with summaries"
    return None
