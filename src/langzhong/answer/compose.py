"""An Answer from search results: safety notices, then a page of hits with passages, or abstain."""

from __future__ import annotations

from langzhong.answer.passages import best_passage
from langzhong.core import Answer, Hit, KnowledgeCard
from langzhong.knowledge.cards import knowledge_cards
from langzhong.question import Question
from langzhong.search.searcher import Candidate, Results
from langzhong.text import default_analyzer
from langzhong.triage import Triage
from langzhong.triage.department import department_scores

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


def _sure(hit: Hit, bar: float | None) -> bool:
    """Whether a hit may be shown as the best answer: its confidence clears the model's own bar
    (a model of judged answers has one), else BEST_ANSWER_CONFIDENCE (no confidence: no model
    to ask)."""
    return hit.confidence is None or hit.confidence >= (bar or BEST_ANSWER_CONFIDENCE)


def cards_for(question: Question) -> tuple[KnowledgeCard, ...]:
    """The knowledge cards of the illnesses and drugs the question names; a children's illness
    named by its general name (羊角风 for 小儿癫痫) only when the question is about a child."""
    return knowledge_cards(question.text, child=question.about("child"))


def help_alone(question: Question, decision: Triage) -> Answer:
    """The page for a crisis or an emergency: help first and alone, nothing to read instead of
    calling (no search results, no cards)."""
    return Answer(
        query=question.text,
        red_flags=decision.flags,
        department=decision.department,
        abstained=True,
        crisis=decision.crisis,
        emergency=decision.emergency,
    )


def compose(
    question: Question,
    decision: Triage,
    cards: tuple[KnowledgeCard, ...],
    results: Results,
    page: int = 1,
    everything: bool = False,
) -> Answer:
    """The answer page for ``results``, whose candidates are the page's window of the ranking
    (of its confident part unless ``everything``), after triage found no crisis or emergency
    (``help_alone`` is that page).

    The knowledge graph's cards for the illnesses and drugs the question names come above the
    hits (and stay when the corpus holds no confident answer), with the 「什么时候需要就医」 guide
    of the question's topic. The page abstains when no document answers confidently, or when the
    question names no medical word (nor is an article's own title): the confidence model learned
    on medical questions only, and off-topic ones still find confident-looking hits
    (docs/abstention.md).
    """
    answerable = results.medical or results.titled or bool(department_scores(question.normalized))
    abstained = results.confident == 0 or not answerable
    shown = results.candidates if everything or not abstained else ()
    hits = tuple(to_hit(c, results.term_weights, question.text) for c in shown)
    best = bool(hits) and not everything and page <= 1 and _sure(hits[0], results.best)
    return Answer(
        query=question.text,
        hits=hits,
        red_flags=decision.flags,
        knowledge=cards,
        department=decision.department,
        guide=decision.guide,
        abstained=abstained,
        crisis=False,
        emergency=False,
        best=best,
        everything=everything,
        total=results.total if shown else 0,
        more=results.ranked - (0 if abstained else results.confident),
        page=max(page, 1),
    )
