"""Structure of a crawled health page: title, date, site, lead, numbered sections, 相关阅读.

The plain-text form is the one of ``shared/seed``: one paragraph per line, headings numbered
一、… (level by numbering style), a "<title>相关阅读" block that may carry the related articles'
own bodies ("<related title>:" then its text), and a "<title>-<site>" line naming the source.
HTML pages arrive here too, after main-content extraction (see ``html.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from langzhong.core import Article, RelatedLink, Section
from langzhong.ingest.fingerprint import article_id
from langzhong.ingest.repeats import drop_repeated_blocks
from langzhong.text import normalize


class NotAPage(ValueError):
    """The text has no recognisable page structure; the message is the reason."""


_CN_NUM = "一二三四五六七八九十百"
# Numbering styles, outermost first: 一、 > （一） > 1、 > （1）. Markdown headings rank above all.
_HEADING_STYLES = (
    (1, re.compile(rf"^[{_CN_NUM}]+\s*[、.．]\s*\S")),
    (2, re.compile(rf"^[（(]\s*[{_CN_NUM}]+\s*[)）]\s*\S")),
    (3, re.compile(r"^\d{1,2}\s*[、.．]\s*(?!\d)\S")),
    (4, re.compile(r"^[（(]\s*\d{1,2}\s*[)）]\s*\S")),
)
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+)$")
# A line ending so is a sentence, not a title or a heading; a question mark may end either
# (health sites title most pages as the patient's question).
_SENTENCE_END = tuple("。！；!;")
_QUESTION_END = tuple("？?")
MAX_HEADING_CHARS = 40
MAX_TITLE_CHARS = 100
# A text file's first line that ends like a sentence is still its title when it is this short and
# a body follows (「高血压该治疗什么？」, 「饭后散步好吗。」).
SHORT_TITLE_CHARS = 40
TITLE_SEARCH_LINES = 5

_DATE = re.compile(
    r"(?P<y>(?:19|20)\d\d)\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
)
RELATED_HEADER = re.compile(r"(相关阅读|相关文章|延伸阅读|推荐阅读)\s*[:：]?$")
_PROSE = re.compile(r"[。，,！？；!?;]")
_SITE_SUFFIX = re.compile(r"^(?P<title>.+?)\s*[-_|｜—–]+\s*(?P<site>[^-_|｜—–]{2,30})$")


@dataclass
class _Related:
    title: str
    body: list[str] = field(default_factory=list)


def _same(a: str, b: str) -> bool:
    return "".join(normalize(a).split()) == "".join(normalize(b).split())


def parse_date(line: str) -> str | None:
    """ISO date of a short date line ("2020-07-14", "2020年7月14日 10:00") or of a byline that
    starts with the date ("2021年3月2日 10:00 作者：王医生 阅读 3021"), else None."""
    text = line.strip()
    match = _DATE.search(text)
    if not match:
        return None
    byline = match.start() == 0 and len(text) <= 60 and not _PROSE.search(text[match.end() :])
    if len(text) > 30 and not byline:
        return None
    year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _is_title(text: str, *, given: bool, body_follows: bool) -> bool:
    """A title given by the page's markup (``<h1>``, metadata) is one whatever its last
    character; a text's first line is one unless it reads as a sentence: long and ending like one,
    or with nothing under it."""
    if not any(char.isalnum() for char in text) or len(text) > MAX_TITLE_CHARS:
        return False
    if given or not text.endswith((*_SENTENCE_END, *_QUESTION_END)):
        return True
    return body_follows and len(text) <= SHORT_TITLE_CHARS


def _heading_rank(line: str) -> tuple[float, str] | None:
    """(style rank, heading text) when the line is a heading, else None."""
    text = line.strip()
    markdown = _MARKDOWN_HEADING.match(text)
    if markdown:
        text = markdown.group(2).strip()
    if not text or len(text) > MAX_HEADING_CHARS or text.endswith(_SENTENCE_END):
        return None
    for rank, pattern in _HEADING_STYLES:
        if pattern.match(text):
            return float(rank), text
    if markdown:
        return len(markdown.group(1)) / 10, text
    return None


def _structure(paragraphs: list[str]) -> tuple[str, tuple[Section, ...]]:
    """Split paragraphs into the lead and the headed sections, levels by numbering style."""
    lead: list[str] = []
    raw: list[tuple[float, str, list[str]]] = []
    for paragraph in paragraphs:
        heading = _heading_rank(paragraph)
        if heading:
            raw.append((heading[0], heading[1], []))
        elif raw:
            raw[-1][2].append(paragraph)
        else:
            lead.append(paragraph)
    levels = {rank: level for level, rank in enumerate(sorted({r for r, _, _ in raw}), start=1)}
    sections = tuple(
        Section(heading=text, level=min(levels[rank], 6), text="\n".join(body))
        for rank, text, body in raw
    )
    return "\n".join(lead), sections


def _split_related(lines: list[str]) -> list[_Related]:
    """The 相关阅读 block: titles, and for some of them their body after a "title:" line."""
    items: list[_Related] = []
    current: _Related | None = None
    for line in lines:
        if RELATED_HEADER.search(line) and len(line) <= 80:  # the block's heading, repeated
            continue
        marker = line.rstrip(":：").strip() if line.endswith((":", "：")) else None
        known = next((item for item in items if marker and _same(item.title, marker)), None)
        if known:
            current = known
        elif current is not None:
            current.body.append(line)
        elif len(line) <= MAX_TITLE_CHARS and not line.endswith(_SENTENCE_END):
            items.append(_Related(title=line))
        elif items:  # a summary paragraph right under a listed title
            current = items[-1]
            current.body.append(line)
    return items


def parse_page(
    text: str,
    *,
    source: str | None = None,
    url: str | None = None,
    title: str | None = None,
    date: str | None = None,
    related: list[str] | None = None,
    author: str | None = None,
    reviewed: str | None = None,
) -> list[Article]:
    """The page's article first, then every related article whose body the page carries.

    ``title``, ``date`` and ``source`` given by the caller (e.g. from HTML metadata) win over
    what the text says; ``related`` titles (an HTML page's 相关阅读 links) count when the text
    has no 相关阅读 block of its own; ``author`` and ``reviewed`` are the page's article's.
    """
    lines = [line.strip() for line in drop_repeated_blocks(text.splitlines())]
    lines = [line for line in lines if line]
    given_title = title is not None
    if title is None:
        if not lines:
            raise NotAPage("no text")
        title = _MARKDOWN_HEADING.sub(r"\2", lines.pop(0)).strip()
    else:  # extracted HTML: the text starts at the title; anything above it is navigation
        plain = [_MARKDOWN_HEADING.sub(r"\2", line) for line in lines[:TITLE_SEARCH_LINES]]
        at = next((i for i, line in enumerate(plain) if _same(line, title)), None)
        if at is not None:
            del lines[: at + 1]
    if not _is_title(title, given=given_title, body_follows=bool(lines)):
        raise NotAPage("no title found (the first line should be the page's title)")

    body: list[str] = []
    related_lines: list[str] | None = None
    for line in lines:
        site = _SITE_SUFFIX.match(line)
        if site and _same(site["title"], title):
            source = source or site["site"].strip()
        elif not body and related_lines is None and parse_date(line):
            date = date or parse_date(line)
        elif related_lines is None and RELATED_HEADER.search(line) and len(line) <= 80:
            related_lines = []
        elif related_lines is not None:
            related_lines.append(line)
        else:
            body.append(line)

    related_items = _split_related(related_lines or []) or [_Related(t) for t in related or []]
    main_id = article_id(source, title)
    lead, sections = _structure(body)
    extra = []
    for item in related_items:
        if item.body:
            rel_lead, rel_sections = _structure(item.body)
            extra.append(
                Article(
                    id=article_id(source, item.title),
                    title=item.title,
                    source=source,
                    lead=rel_lead,
                    sections=rel_sections,
                    related=(RelatedLink(title=title, id=main_id),),
                )
            )
    extracted = {a.title: a.id for a in extra}
    main = Article(
        id=main_id,
        title=title,
        date=date,
        source=source,
        url=url,
        author=author,
        reviewed=reviewed,
        lead=lead,
        sections=sections,
        related=tuple(RelatedLink(title=i.title, id=extracted.get(i.title)) for i in related_items),
    )
    if not main.lead and not main.sections:
        raise NotAPage("page has a title but no text")
    return [main, *extra]
