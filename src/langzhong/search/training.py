"""Training on question/answer rows: the translation table, its weights, the confidence model.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from langzhong.answer.department_model import DepartmentModel
from langzhong.evaluation.dataset import split
from langzhong.evaluation.metrics import evaluate
from langzhong.index import IndexDoc, LexicalIndex, TantivyIndex
from langzhong.search.confidence import ConfidenceModel, feature_matrix, rerank_with_signals
from langzhong.search.confidence_training import Question, fit_confidence
from langzhong.search.rerank import TranslationReranker
from langzhong.search.searcher import idf_weights
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


@dataclass(frozen=True)
class Trained:
    reranker: TranslationModel
    confidence: ConfidenceModel
    grid: list[dict[str, float]]  # every reranker weight combination's validation scores
    confidence_report: dict


def _validation(
    model: TranslationModel, rows: Sequence[dict], held: Sequence[dict], analyzer: Analyzer
) -> tuple[list[dict[str, float]], list[Question]]:
    """The grid's scores and the confidence examples, on ``held`` questions against all
    answers of ``rows``, in the site's own first stage."""
    with tempfile.TemporaryDirectory() as folder:
        index = TantivyIndex(Path(folder))
        try:
            return _validate_on(index, model, rows, held, analyzer)
        finally:
            index.close()


def _validate_on(
    index: LexicalIndex,
    model: TranslationModel,
    rows: Sequence[dict],
    held: Sequence[dict],
    analyzer: Analyzer,
) -> tuple[list[dict[str, float]], list[Question]]:
    answers: dict[str, int] = {}
    for row in rows:
        key = answers.setdefault(row["answer"].strip(), len(answers) + 1)
        index.upsert(IndexDoc(key, [], analyzer.terms(row["answer"])))
    index.commit("validation")
    same_title: dict[str, set[int]] = {}
    for row in rows:
        same_title.setdefault(row["title"].strip(), set()).add(answers[row["answer"].strip()])
    relevant = [{answers[r["answer"].strip()]} | same_title[r["title"].strip()] for r in held]
    deepest = max(GRID["depth"])

    def first_stage(text: str) -> tuple[list[str], list[tuple[int, float]], list[np.ndarray]]:
        terms = analyzer.terms(text)  # repeats kept, as the searcher does
        ranked = index.search(terms, deepest)
        docs = index.doc_term_hashes([k for k, _ in ranked])
        return terms, ranked, [docs[k] for k, _ in ranked]

    stages = [first_stage(question_text(row)) for row in held]
    grid = _grid(model, stages, relevant)
    best = max(grid, key=lambda g: g["ndcg@10"])
    chosen = TranslationReranker(
        dataclasses.replace(model, **{k: best[k] for k in ("blend", "exact", "depth")})
    )
    questions = []
    for row, stage, rel in zip(held, stages, relevant, strict=True):
        for terms, ranked, docs in (stage, first_stage(row["title"])):
            weights = idf_weights(index, list(dict.fromkeys(terms)))
            reranked, signals = rerank_with_signals(
                chosen, terms, weights, analyzer.medical_words, ranked, docs[: chosen.model.depth]
            )
            labels = np.array([key in rel for key, _ in reranked[: len(signals.docs)]], bool)
            if len(labels):
                questions.append(Question(row["title"].strip(), feature_matrix(signals), labels))
    return grid, questions


def _grid(
    model: TranslationModel,
    stages: Sequence[tuple[list[str], list[tuple[int, float]], list[np.ndarray]]],
    relevant: Sequence[set[int]],
) -> list[dict[str, float]]:
    """nDCG@10 etc. of each weight combination."""
    qrels = {str(i): {str(k): 1 for k in rel} for i, rel in enumerate(relevant)}
    results = []
    for blend, exact in itertools.product(GRID["blend"], GRID["exact"]):
        reranker = TranslationReranker(dataclasses.replace(model, blend=blend, exact=exact))
        # A document's language score does not depend on the other candidates: score the
        # deepest head once, then re-order each depth's share of it.
        languages = [reranker.language_scores(terms, docs) for terms, _, docs in stages]
        for depth in GRID["depth"]:
            run = {}
            for i, ((_, ranked, _), language) in enumerate(zip(stages, languages, strict=True)):
                top = reranker.rerank(ranked, language[:depth])
                run[str(i)] = {str(k): s for k, s in top[:100]}
            scores = evaluate(qrels, run)
            results.append({"blend": blend, "exact": exact, "depth": depth, **scores})
    return results


def fit_department_model(rows: Sequence[dict], analyzer: Analyzer) -> DepartmentModel:
    """The department classifier, from the rows' own department labels."""
    labelled = [r for r in rows if isinstance(r.get("department"), str) and r["department"]]
    return DepartmentModel.fit(
        [(analyzer.terms(question_text(r)), r["department"]) for r in labelled]
    )


def fit_models(
    rows: Sequence[dict],
    analyzer: Analyzer,
    seed: int = 13,
    on_step: Callable[[str], None] = lambda step: None,
) -> Trained:
    """The translation model trained on all ``rows`` with the weights that did best on a
    validation part of them, and the confidence model learned on that validation part."""
    fit, held = split(list(rows), seed=seed, share=1 - VALIDATION_SHARE)
    order = fit + held
    on_step("translation table on 80% of the training rows")
    model = train_translation(pairs_of(fit, analyzer))
    on_step("weights and confidence examples on the other 20%")
    grid, questions = _validation(model, order, held, analyzer)
    best = max(grid, key=lambda g: g["ndcg@10"])
    on_step("confidence model")
    confidence, report = fit_confidence(questions)
    on_step("translation table on all training rows")
    final = train_translation(pairs_of(rows, analyzer))
    chosen = {k: best[k] for k in ("blend", "exact", "depth")}
    return Trained(dataclasses.replace(final, **chosen), confidence, grid, report)
