"""An Answer from search results: safety notices, then a page of hits with passages, or abstain."""

from __future__ import annotations

from langzhong.answer.department import department_for_text, suggest_department
from langzhong.answer.passages import best_passage, coverage
from langzhong.answer.redflags import red_flags
from langzhong.core import Answer, Article, Hit
from langzhong.search.searcher import Candidate, Results

PAGE_SIZE = 10
# Share of the question's weighted terms that the best article must contain; below it, or when
# the question names no medical word at all, the page says "no good answer found" instead of
# showing junk. Calibrated on held-out questions: see docs/abstention.md.
MIN_COVERAGE = 0.4


def answer_coverage(article: Article, weights: dict[str, float]) -> float:
    """How much of the question (by term weight) the article speaks to, from 0 to 1."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return coverage(f"{article.title}\n{article.body_text()}", weights) / total


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


def compose(
    query: str, results: Results, page: int = 1, min_coverage: float = MIN_COVERAGE
) -> Answer:
    """The answer page for ``results``, whose candidates are the page's window of the ranking."""
    flags = red_flags(query)
    best = results.best
    abstained = (
        best is None
        or not (results.medical or department_for_text(query))
        or answer_coverage(best, results.term_weights) < min_coverage
    )
    shown = () if abstained else results.candidates
    hits = tuple(to_hit(c, results.term_weights) for c in shown)
    return Answer(
        query=query,
        hits=hits,
        red_flags=flags,
        department=suggest_department(query, hits, flags),
        abstained=abstained,
        total=0 if abstained else results.total,
        page=max(page, 1),
    )
