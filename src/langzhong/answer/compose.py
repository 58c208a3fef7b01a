"""An Answer from search results: safety notices, then a page of hits with passages, or abstain."""

from __future__ import annotations

from langzhong.answer.department import about_a_child, department_for_text, suggest_department
from langzhong.answer.passages import best_passage
from langzhong.answer.redflags import red_flags
from langzhong.core import Answer, Hit, KnowledgeCard
from langzhong.knowledge.cards import knowledge_cards
from langzhong.search.searcher import Candidate, Results
from langzhong.text import default_analyzer

PAGE_SIZE = 10
# The first confident hit is shown as 「最佳回答」 only from this confidence on. On the validation
# questions of `langzhong train` (2-fold, e5 on) 76% of the questions reach it, and their first
# hit is the labelled answer for 0.317 of them against 0.075 for those below it (lexical: 71%,
# 0.266 against 0.061): below it the page lists the hits without naming a best one.
BEST_ANSWER_CONFIDENCE = 0.1


def to_hit(candidate: Candidate, weights: dict[str, float], query: str = "") -> Hit:
    article = candidate.article
    passage = best_passage(article, weights, query, default_analyzer().medical_words)
    return Hit(
        id=article.id,
        title=article.title,
        kind=article.kind,
        date=article.date,
        source=article.source,
        url=article.url,
        department=article.department,
        author=article.author,
        score=candidate.score,
        confidence=None if candidate.confidence is None else round(candidate.confidence, 4),
        section=passage.section,
        anchor=passage.anchor,
        passage=passage.text,
        highlights=passage.highlights,
        related=article.related,
    )


def _sure(hit: Hit) -> bool:
    """Whether a hit may be shown as the best answer (no confidence: no model to ask)."""
    return hit.confidence is None or hit.confidence >= BEST_ANSWER_CONFIDENCE


def cards_for(query: str) -> tuple[KnowledgeCard, ...]:
    """The knowledge cards of the illnesses and drugs the question names; a children's illness
    named by its general name (羊角风 for 小儿癫痫) only when the question is about a child."""
    return knowledge_cards(query, child=about_a_child(query))


def compose(query: str, results: Results, page: int = 1, everything: bool = False) -> Answer:
    """The answer page for ``results``, whose candidates are the page's window of the ranking
    (of its confident part unless ``everything``).

    Thoughts of suicide or self-harm get no search results at all, only help; an emergency sign
    gets its call-120 notice first and alone, with no results or cards around it. The knowledge
    graph's cards for the illnesses and drugs the question names come above the hits (and stay
    when the corpus holds no confident answer). Otherwise the page
    abstains when no document answers confidently, or when the question names no medical word
    (nor is an article's own title): the confidence model learned on medical questions only,
    and off-topic ones still find confident-looking hits (docs/abstention.md).
    """
    flags = red_flags(query)
    crisis = any(flag.level == "crisis" for flag in flags)
    emergency = not crisis and any(flag.level == "emergency" for flag in flags)
    alone = crisis or emergency  # help first and alone: nothing to read instead of calling
    answerable = results.medical or results.titled or department_for_text(query) is not None
    abstained = alone or results.confident == 0 or not answerable
    if alone:
        shown: tuple[Candidate, ...] = ()
    else:
        shown = results.candidates if everything or not abstained else ()
    hits = tuple(to_hit(c, results.term_weights, query) for c in shown)
    best = bool(hits) and not everything and page <= 1 and _sure(hits[0])
    cards = () if alone else cards_for(query)
    return Answer(
        query=query,
        hits=hits,
        red_flags=flags,
        knowledge=cards,
        department=suggest_department(query, hits, flags, results.terms, knowledge=cards),
        abstained=abstained,
        crisis=crisis,
        emergency=emergency,
        best=best,
        everything=everything,
        total=results.total if shown else 0,
        more=0 if alone else results.ranked - (0 if abstained else results.confident),
        page=max(page, 1),
    )
