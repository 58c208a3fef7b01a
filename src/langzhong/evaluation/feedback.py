"""Readers' 「这个回答有帮助吗？」 answers as relevance judgements for the store's own search."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from langzhong.evaluation.metrics import evaluate
from langzhong.search import Searcher

DEPTH = 100


def judgements(rows: Iterable[dict]) -> dict[str, dict[str, int]]:
    """Per question, each judged article: 1 when more readers found it helpful than not. Only
    questions with at least one helpful article count (the metrics need one)."""
    votes: defaultdict[str, Counter] = defaultdict(Counter)
    for row in rows:
        if row.get("question"):
            votes[row["question"]][row["article"]] += 1 if row["helpful"] else -1
    qrels = {q: {a: int(v > 0) for a, v in arts.items()} for q, arts in votes.items()}
    return {q: judged for q, judged in qrels.items() if any(judged.values())}


def score_feedback(searcher: Searcher, rows: Iterable[dict]) -> dict[str, float | int]:
    """nDCG@10, MRR@10 and Recall@100 of the search on the questions readers judged."""
    qrels = judgements(rows)
    if not qrels:
        return {"questions": 0}
    names = {question: f"q{i}" for i, question in enumerate(qrels)}
    run = {
        names[q]: {c.article.id: c.score for c in searcher.search(q, count=DEPTH).candidates}
        for q in qrels
    }
    scores = evaluate({names[q]: judged for q, judged in qrels.items()}, run)
    return {"questions": len(qrels), **{k: round(v, 4) for k, v in scores.items()}}
