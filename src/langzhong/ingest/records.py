"""JSON-lines records: questions with doctor answers, and articles (structured or as page text)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from langzhong.core import Article, Section, error_message, unicode_text
from langzhong.ingest.fingerprint import article_id
from langzhong.ingest.pages import parse_page

QA_SOURCE = "医患问答"
ANSWER_HEADING = "医生回答"


class BadRecord(ValueError):
    """A JSON line that is not a question/answer or an article; the message is the reason."""


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRecord(f"missing or empty {key!r}")
    try:
        return unicode_text(value.strip())
    except ValueError as error:
        raise BadRecord(f"{key}: {error}") from None


def _optional_text(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{key!r} must be text")
    return value


def invalid(error: ValidationError) -> BadRecord:
    """The first thing pydantic refused, as a one-line reason."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = error_message(first)
    return BadRecord(f"{where}: {message}" if where else message)


def qa_article(record: dict[str, Any], source: str | None = None) -> Article:
    """A row shaped like medical-dialogue-im: ``id, department, title, ask, answer``."""
    title, ask, answer = _text(record, "title"), _text(record, "ask"), _text(record, "answer")
    raw_id = record.get("id")
    if not isinstance(raw_id, str | int | None):
        raise BadRecord("'id' must be text or a number")
    return Article(
        id=str(raw_id) if raw_id not in (None, "") else article_id("qa", title + ask),
        kind="qa",
        title=title,
        source=_optional_text(record, "source") or source or QA_SOURCE,
        url=_optional_text(record, "url"),
        department=_optional_text(record, "department"),
        author=_optional_text(record, "author") or _optional_text(record, "doctor"),
        reviewed=_optional_text(record, "reviewed"),
        lead=ask,
        sections=(Section(heading=ANSWER_HEADING, level=1, text=answer),),
    )


def record_articles(record: Any, source: str | None = None) -> list[Article]:
    """Articles from one decoded JSON line, or BadRecord with the reason."""
    if not isinstance(record, dict):
        raise BadRecord("a line must hold a JSON object")
    if "answer" in record or "ask" in record:
        return [qa_article(record, source)]
    if isinstance(record.get("text"), str):  # a crawled page's text with optional metadata
        return parse_page(
            record["text"],
            source=_optional_text(record, "source") or source,
            url=_optional_text(record, "url"),
            title=_optional_text(record, "title"),
            date=_optional_text(record, "date"),
            author=_optional_text(record, "author"),
            reviewed=_optional_text(record, "reviewed"),
        )
    title = _text(record, "title")
    if not record.get("lead") and not record.get("sections"):
        raise BadRecord("an article needs a 'lead', 'sections' or the page 'text'")
    fields = {**record, "title": title, "source": record.get("source") or source}
    fields.setdefault("id", article_id(fields["source"], title))
    if isinstance(fields.get("url"), str) and fields["url"].startswith("/"):
        # exports before the url rule allowed a path on this site: the article is kept without it
        fields["url"] = None
    try:
        return [Article.model_validate(fields)]
    except ValidationError as error:
        raise invalid(error) from None
