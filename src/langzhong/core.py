"""The core types passed through every stage: ingest → store/index → search → answer → web/cli.

The CLI's ``--json`` and the web API both serialise these models, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ArticleKind = Literal["article", "qa"]
# An id is one segment of a page's address: ASCII letters, digits and . _ ~ - (derived ids are
# hex; datasets use forms like im-00042).
ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._~-]{0,127}$"
# Where an article came from: an absolute web address, never javascript: or data:, and never a
# path, which a browser may read as another site's address (/\evil.example is //evil.example).
# No control characters or spaces, spelt out: "\s" means other characters to Python, to pydantic's
# Rust regex and to the JSON Schema (ECMAScript) readers of the API's spec, which must all agree.
_BLANK = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
URL_PATTERN = rf"^https?://[^{_BLANK}/?#]+[^{_BLANK}]*$"
# What each pattern means, for error messages.
PATTERN_RULES = {
    ID_PATTERN: "must be 1-128 ASCII letters, digits or . _ ~ -",
    URL_PATTERN: "must be an absolute http(s) address",
}


def error_message(error: Mapping[str, Any]) -> str:
    """One of pydantic's validation errors in words (a pattern by what it means)."""
    return PATTERN_RULES.get(error.get("ctx", {}).get("pattern"), error["msg"])


def unicode_text(text: str) -> str:
    """Refuse a lone surrogate (JSON's \\udc00): it cannot be stored, indexed or sent."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text with a lone surrogate is not Unicode text") from None
    return text


Text = Annotated[str, AfterValidator(unicode_text)]
ArticleId = Annotated[str, Field(pattern=ID_PATTERN)]
Url = Annotated[str, Field(pattern=URL_PATTERN, max_length=2048), AfterValidator(unicode_text)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Section(_Frozen):
    """A headed part of an article (level 1 is 一、…, 2 is 1、…); text keeps the page's words."""

    heading: Text
    level: int = Field(ge=1, le=6)
    text: Text = ""


class RelatedLink(_Frozen):
    """An entry of the 相关阅读 block. ``id`` is None until an article with that title is stored."""

    title: Text
    id: ArticleId | None = None


class ArticleContent(_Frozen):
    """What an article says; ``Article`` adds its id."""

    title: Text
    kind: ArticleKind = "article"
    date: Text | None = None
    source: Text | None = None
    url: Url | None = None
    department: Text | None = None
    # Who says it (an author, or a doctor with their title) and when it was last reviewed, where
    # the source gives them.
    author: Text | None = None
    reviewed: Text | None = None
    lead: Text = ""
    sections: tuple[Section, ...] = ()
    related: tuple[RelatedLink, ...] = ()

    def paragraphs(self) -> list[tuple[str | None, str, str | None]]:
        """Every paragraph with the heading path it sits under and the anchor of its section
        on the article page (``s1``, ``s2``…; None for the lead)."""
        found: list[tuple[str | None, str, str | None]] = [
            (None, p, None) for p in self.lead.split("\n") if p.strip()
        ]
        path: list[Section] = []
        for number, section in enumerate(self.sections, start=1):
            path = [s for s in path if s.level < section.level] + [section]
            label = " › ".join(s.heading for s in path)
            found.extend((label, p, f"s{number}") for p in section.text.split("\n") if p.strip())
        return found

    def body_text(self) -> str:
        """Lead, headings and section texts as one string, in page order."""
        parts = [self.lead] + [f"{s.heading}\n{s.text}" for s in self.sections]
        return "\n".join(p for p in parts if p)


class Article(ArticleContent):
    """A structured article or a question with its doctor's answer (``kind="qa"``).

    Validated when made from outside input; the store reads what it wrote with
    ``model_construct``, so a rule added later never makes a stored article unreadable.
    """

    id: ArticleId


class Passage(_Frozen):
    """The paragraph of an article that best answers a question, with the query words marked.

    ``highlights`` are ``[start, end)`` character offsets into ``text``.
    """

    text: str
    section: str | None = None
    anchor: str | None = None  # the section's id on the article page
    highlights: tuple[tuple[int, int], ...] = ()


class Hit(_Frozen):
    """One search result: the article's identity, its score and its answering passage."""

    id: str
    title: str
    kind: ArticleKind = "article"
    date: str | None = None
    source: str | None = None
    url: str | None = None
    department: str | None = None
    author: str | None = None
    score: float
    # Calibrated probability that this document answers the question (None: no model loaded).
    confidence: float | None = None
    section: str | None = None
    anchor: str | None = None  # the passage's section on the article page: /article/{id}#{anchor}
    passage: str = ""
    highlights: tuple[tuple[int, int], ...] = ()
    related: tuple[RelatedLink, ...] = ()


class RedFlag(_Frozen):
    """An emergency sign named in the question, with what to do and where the rule comes from.

    ``level`` is "crisis" (thoughts of suicide or self-harm: help lines, no search results),
    "emergency" (call 120 / go to the emergency department now) or "urgent" (see a doctor today).
    ``source`` names the rule's sources as written (English), ``source_zh`` as the page shows them.
    ``department``: where to go, when the sign decides it (an animal bite: the rabies clinic).
    """

    id: str
    level: Literal["crisis", "emergency", "urgent"]
    sign: str
    advice: str
    source: str
    source_zh: str = ""
    department: str | None = None
    # "rule" (a pattern of data/red_flags.toml) or "net" (the question is near the rule's
    # example phrasings by its e5 vector: triage/net.py)
    matched: Literal["rule", "net"] = "rule"


class GuideSign(_Frozen):
    """One line of a 「什么时候需要就医」 box, with the public source it comes from."""

    text: str
    source: str
    url: str = ""


class GuideTopic(_Frozen):
    """「什么时候需要就医」 for one topic (孩子发烧, 胸痛…): the signs to act on at three levels,
    立即拨打 120 (``emergency``), 今天就医 (``urgent``) and 可以先自我观察 (``self_care``)."""

    id: str
    name: str
    emergency: tuple[GuideSign, ...] = ()
    urgent: tuple[GuideSign, ...] = ()
    self_care: tuple[GuideSign, ...] = ()


class KnowledgeCard(_Frozen):
    """What the knowledge graph says of an entity the question names: a few items of each fact
    in the order a patient needs them; ``answer`` is the fact the question asks for, put first."""

    entity: str
    kind: Literal["disease", "drug"]
    answer: str | None = None
    missing: str | None = None  # the fact the question asks for, where the graph lacks it
    facts: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    more: tuple[str, ...] = ()  # the facts with more items than the card shows
    url: str  # the entity's own page, with every fact
    source: str


class Answer(_Frozen):
    """Everything the answer page shows for one question.

    By default ``hits`` are the confident ones only and ``total`` counts them; ``more`` counts the
    other ranked documents, which ``everything`` (``all=true``) lists page by page, each with its
    confidence. ``abstained``: no document answers the question confidently. ``crisis``: the
    question speaks of suicide or self-harm, and only help is shown. ``emergency``: it names an
    emergency sign, and only the call-120 notice (and the department) is shown. ``best``: the
    first hit is sure enough to be shown as the best answer; otherwise none is named.
    """

    query: str
    hits: tuple[Hit, ...] = ()
    red_flags: tuple[RedFlag, ...] = ()
    knowledge: tuple[KnowledgeCard, ...] = ()
    department: str | None = None
    guide: tuple[GuideTopic, ...] = ()  # 「什么时候需要就医」 for the question's topics
    abstained: bool = False
    crisis: bool = False
    emergency: bool = False
    best: bool = False
    everything: bool = False
    total: int = 0
    more: int = 0
    page: int = 1
