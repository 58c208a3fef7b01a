"""Training the reranker on question/answer rows: the translation table, then its weights.

The weights are chosen on a validation part of the training rows (never on evaluation rows):
the model is fitted on 80% of them and every weight combination is scored by nDCG@10 on the
other 20%, with the same first stage (the index) and the same reranker the site uses. The two
parts are split like train and test: rows asking the same question stay on one side.
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from langzhong.evaluation.dataset import split
from langzhong.evaluation.metrics import evaluate
from langzhong.index import IndexDoc, LexicalIndex, TantivyIndex
from langzhong.search.rerank import TranslationReranker
from langzhong.search.translation import TranslationModel, train_translation
from langzhong.text import Analyzer

GRID = {
    "blend": (0.0, 0.2, 0.3, 0.4, 0.5, 0.7),  # 0.0 is BM25 alone: the baseline of the grid
    "exact": (0.3, 0.6),
    "depth": (30, 50, 100, 300),
}
VALIDATION_SHARE = 0.2


def question_text(row: dict) -> str:
    return f"{row['title']} {row['ask']}"


def pairs_of(rows: Sequence[dict], analyzer: Analyzer) -> list[tuple[list[str], list[str]]]:
    return [(analyzer.terms(question_text(r)), analyzer.terms(r["answer"])) for r in rows]


def _validation_runs(
    model: TranslationModel, rows: Sequence[dict], held: Sequence[dict], analyzer: Analyzer
) -> list[dict[str, float]]:
    """nDCG@10 etc. of each grid point, on ``held`` questions against all answers of ``rows``."""
    with tempfile.TemporaryDirectory() as folder:
        index = TantivyIndex(Path(folder))  # the site's own first stage
        try:
            return _runs_on(index, model, rows, held, analyzer)
        finally:
            index.close()


def _runs_on(
    index: LexicalIndex,
    model: TranslationModel,
    rows: Sequence[dict],
    held: Sequence[dict],
    analyzer: Analyzer,
) -> list[dict[str, float]]:
    answers: dict[str, int] = {}
    for row in rows:
        key = answers.setdefault(row["answer"].strip(), len(answers) + 1)
        index.upsert(IndexDoc(key, [], analyzer.terms(row["answer"])))
    index.commit("validation")
    deepest = max(GRID["depth"])
    first_stage = []
    for row in held:
        terms = analyzer.terms(question_text(row))  # repeats kept, as the searcher does
        ranked = index.search(terms, deepest)
        docs = index.doc_term_hashes([k for k, _ in ranked])
        first_stage.append((terms, ranked, [docs[k] for k, _ in ranked]))
    same_title: dict[str, set[int]] = {}
    for row in rows:
        same_title.setdefault(row["title"].strip(), set()).add(answers[row["answer"].strip()])
    qrels = {
        str(i): {str(k): 1 for k in {answers[r["answer"].strip()]} | same_title[r["title"].strip()]}
        for i, r in enumerate(held)
    }
    results = []
    for blend, exact, depth in itertools.product(*GRID.values()):
        reranker = TranslationReranker(
            dataclasses.replace(model, blend=blend, exact=exact, depth=depth)
        )
        run = {}
        for i, (terms, ranked, docs) in enumerate(first_stage):
            top = reranker.rerank(terms, ranked, docs[:depth])
            run[str(i)] = {str(k): s for k, s in top[:100]}
        scores = evaluate(qrels, run)
        results.append({"blend": blend, "exact": exact, "depth": depth, **scores})
    return results


def fit_reranker(
    rows: Sequence[dict],
    analyzer: Analyzer,
    seed: int = 13,
    on_step: Callable[[str], None] = lambda step: None,
) -> tuple[TranslationModel, list[dict[str, float]]]:
    """The translation model trained on all ``rows``, with the weights that did best on a
    validation part of them; also returns every grid point's validation scores."""
    fit, held = split(list(rows), seed=seed, share=1 - VALIDATION_SHARE)
    order = fit + held
    on_step("translation table on 80% of the training rows")
    model = train_translation(pairs_of(fit, analyzer))
    on_step("weights on the other 20%")
    grid = _validation_runs(model, order, held, analyzer)
    best = max(grid, key=lambda g: g["ndcg@10"])
    on_step("translation table on all training rows")
    final = train_translation(pairs_of(rows, analyzer))
    chosen = {k: best[k] for k in ("blend", "exact", "depth")}
    return dataclasses.replace(final, **chosen), grid
