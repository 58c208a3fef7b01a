"""An Answer from search results: a page of hits, each with its passage and related reading."""

from __future__ import annotations

from langzhong.answer.passages import best_passage
from langzhong.core import Answer, Hit
from langzhong.search.searcher import Candidate, Results

PAGE_SIZE = 10


def to_hit(candidate: Candidate, weights: dict[str, float]) -> Hit:
    article = candidate.article
    passage = best_passage(article, weights)
    return Hit(
        id=article.id,
        title=article.title,
        kind=article.kind,
        date=article.date,
        source=article.source,
        url=article.url,
        department=article.department,
        score=candidate.score,
        section=passage.section,
        passage=passage.text,
        highlights=passage.highlights,
        related=article.related,
    )


def compose(query: str, results: Results, page: int = 1, page_size: int = PAGE_SIZE) -> Answer:
    start = (max(page, 1) - 1) * page_size
    shown = results.candidates[start : start + page_size]
    return Answer(
        query=query,
        hits=tuple(to_hit(c, results.term_weights) for c in shown),
        total=len(results.candidates),
        page=max(page, 1),
    )
