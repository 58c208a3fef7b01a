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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from langzhong.evaluation.dataset import department_of, split
from langzhong.evaluation.metrics import evaluate
from langzhong.index import IndexDoc, LexicalIndex, TantivyIndex
from langzhong.search.confidence import ConfidenceModel, feature_matrix, rerank_with_signals
from langzhong.search.rerank import TranslationReranker, join_nearest
from langzhong.search.searcher import first_stage_terms, idf_weights
from langzhong.search.translation import TranslationModel, train_translation
from langzhong.text import Analyzer
from langzhong.training.confidence import Question, fit_confidence
from langzhong.triage.department_model import DepartmentModel

GRID = {
    "blend": (0.0, 0.2, 0.3, 0.4, 0.5, 0.7),  # 0.0 is BM25 alone: the baseline of the grid
    "exact": (0.3, 0.6),
    "depth": (30, 50, 100, 300),
}
# With the lexical weights fixed (so dense off is exactly the lexical ranking), the e5 cosine's
# share and how many of its nearest documents join the candidates.
DENSE_GRID = {
    "dense": (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
    "dense_depth": (0, 20, 50, 100),
}
VALIDATION_SHARE = 0.2


class TextVectors(Protocol):
    """Unit e5 vectors of texts, looked up where known (``evaluation/dense.py: E5Vectors``)."""

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def queries(self, texts: Sequence[str]) -> np.ndarray: ...


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
    departments: DepartmentModel  # trained on all rows; the confidence model reads it too
    dense_confidence: ConfidenceModel | None = None  # with dense retrieval on
    dense_grid: list[dict[str, float]] | None = None
    dense_confidence_report: dict | None = None


@dataclass(frozen=True)
class _Validated:
    grid: list[dict[str, float]]
    questions: list[Question]
    dense_grid: list[dict[str, float]] | None = None
    dense_questions: list[Question] | None = None


@dataclass(frozen=True)
class _Stage:
    """One question's first stage: BM25's candidates and, with vectors, e5's nearest."""

    terms: list[str]
    ranked: list[tuple[int, float]]
    docs: list[np.ndarray]
    question: np.ndarray | None = None


@dataclass(frozen=True)
class _Departments:
    model: DepartmentModel
    label_of: dict[int, str]  # each answer's department label


@contextmanager
def _scratch_index() -> Iterator[LexicalIndex]:
    """A tantivy index in a temporary folder, gone afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        index = TantivyIndex(Path(folder))
        try:
            yield index
        finally:
            index.close()


def _validation(
    model: TranslationModel,
    rows: Sequence[dict],
    held: Sequence[dict],
    analyzer: Analyzer,
    vectors: TextVectors | None,
    classifier: DepartmentModel,
) -> _Validated:
    """The grids' scores and the confidence examples, on ``held`` questions against all
    answers of ``rows``, in the site's own first stage (``classifier``: the department model
    of the rows ``held`` is not part of)."""
    with _scratch_index() as index:
        answers: dict[str, int] = {}
        for row in rows:
            key = answers.setdefault(row["answer"].strip(), len(answers) + 1)
            index.upsert(IndexDoc(key, [], analyzer.terms(row["answer"])))
        index.commit("validation")
        label_of: dict[int, str] = {}
        same_title: dict[str, set[int]] = {}
        for row in rows:
            if label := department_of(row):
                label_of.setdefault(answers[row["answer"].strip()], label)
            same_title.setdefault(row["title"].strip(), set()).add(answers[row["answer"].strip()])
        relevant = [{answers[r["answer"].strip()]} | same_title[r["title"].strip()] for r in held]
        deepest = int(max(GRID["depth"]))
        matrix = vectors.passages(list(answers)) if vectors is not None else None

        def first_stage(texts: list[str]) -> list[_Stage]:
            questions = vectors.queries(texts) if vectors is not None else [None] * len(texts)
            stages = []
            for text, question in zip(texts, questions, strict=True):
                terms = analyzer.terms(text)  # repeats kept, as the searcher does
                searched = first_stage_terms(terms, *index.term_stats(list(dict.fromkeys(terms))))
                ranked = index.search(searched, deepest)
                docs = index.doc_term_hashes([k for k, _ in ranked])
                stages.append(_Stage(terms, ranked, [docs[k] for k, _ in ranked], question))
            return stages

        stages = first_stage([question_text(row) for row in held])
        grid = _grid(model, stages, relevant)
        best = max(grid, key=lambda g: g["ndcg@10"])
        chosen = dataclasses.replace(model, **_lexical_weights(best))
        titles = first_stage([row["title"] for row in held])
        labelled = _Departments(classifier, label_of)
        questions = _examples(index, chosen, held, stages, titles, relevant, analyzer, labelled)
        if matrix is None:
            return _Validated(grid, questions)
        dense_grid = _dense_grid(index, chosen, matrix, stages, relevant)
        top = max(dense_grid, key=lambda g: g["ndcg@10"])
        chosen = dataclasses.replace(chosen, **_dense_weights(top))
        dense_questions = _examples(
            index, chosen, held, stages, titles, relevant, analyzer, labelled, matrix
        )
        return _Validated(grid, questions, dense_grid, dense_questions)


def _examples(
    index: LexicalIndex,
    model: TranslationModel,
    held: Sequence[dict],
    stages: Sequence[_Stage],
    titles: Sequence[_Stage],
    relevant: Sequence[set[int]],
    analyzer: Analyzer,
    departments: _Departments,
    matrix: np.ndarray | None = None,
) -> list[Question]:
    """The confidence model's examples: each held question, asked whole and as its title,
    ranked as the site ranks it (with e5 when ``matrix`` holds the answers' vectors), each
    candidate's department lift from its answer's label."""
    reranker = TranslationReranker(model)
    questions = []
    for row, stage, title, rel in zip(held, stages, titles, relevant, strict=True):
        for asked in (stage, title):
            weights = idf_weights(index, list(dict.fromkeys(asked.terms)))
            ranked, docs, dense = _candidates(index, model, asked, matrix)
            head = [departments.label_of.get(key) for key, _ in ranked[: len(docs)]]
            lift = departments.model.lift(asked.terms, head)
            reranked, signals = rerank_with_signals(
                reranker, asked.terms, weights, analyzer.medical_words, ranked, docs, dense, lift
            )
            labels = np.array([key in rel for key, _ in reranked[: len(signals.docs)]], bool)
            if len(labels):
                questions.append(Question(row["title"].strip(), feature_matrix(signals), labels))
    return questions


def _candidates(
    index: LexicalIndex, model: TranslationModel, stage: _Stage, matrix: np.ndarray | None
) -> tuple[list[tuple[int, float]], list[np.ndarray], np.ndarray | None]:
    """What the searcher reranks: BM25's head, e5's nearest joined to it (keys are the rows of
    ``matrix`` plus one), their terms and their cosines."""
    ranked, docs = stage.ranked, stage.docs[: model.depth]
    if matrix is None or stage.question is None:
        return ranked, docs, None
    sims = matrix @ stage.question
    head = [key for key, _ in ranked[: model.depth]]
    nearest = (np.argsort(-sims)[: model.dense_depth] + 1).tolist()
    ranked, joined = join_nearest(ranked, model.depth, nearest)
    found = index.doc_term_hashes(joined)
    docs = [*docs, *(found[key] for key in joined)]
    dense = sims[np.array([*head, *joined], np.int64) - 1]
    return ranked, docs, dense


def _dense_grid(
    index: LexicalIndex,
    model: TranslationModel,
    matrix: np.ndarray,
    stages: Sequence[_Stage],
    relevant: Sequence[set[int]],
) -> list[dict[str, float]]:
    """nDCG@10 etc. of each dense weight and depth, the lexical weights fixed."""
    qrels = {str(i): {str(k): 1 for k in rel} for i, rel in enumerate(relevant)}
    reranker = TranslationReranker(model)
    results = []
    for depth in DENSE_GRID["dense_depth"]:
        deep = dataclasses.replace(model, dense_depth=int(depth))
        candidates = [_candidates(index, deep, stage, matrix) for stage in stages]
        languages = [
            reranker.language_scores(stage.terms, docs)
            for stage, (_, docs, _) in zip(stages, candidates, strict=True)
        ]
        for weight in DENSE_GRID["dense"]:
            weighted = TranslationReranker(dataclasses.replace(deep, dense=weight))
            run = {}
            for i, ((ranked, _, dense), language) in enumerate(
                zip(candidates, languages, strict=True)
            ):
                top = weighted.rerank(ranked, language, dense)
                run[str(i)] = {str(k): s for k, s in top[:100]}
            scores = evaluate(qrels, run)
            results.append({"dense": weight, "dense_depth": depth, **scores})
    return results


def _grid(
    model: TranslationModel, stages: Sequence[_Stage], relevant: Sequence[set[int]]
) -> list[dict[str, float]]:
    """nDCG@10 etc. of each weight combination."""
    qrels = {str(i): {str(k): 1 for k in rel} for i, rel in enumerate(relevant)}
    results = []
    for blend, exact in itertools.product(GRID["blend"], GRID["exact"]):
        reranker = TranslationReranker(dataclasses.replace(model, blend=blend, exact=exact))
        # A document's language score does not depend on the other candidates: score the
        # deepest head once, then re-order each depth's share of it.
        languages = [reranker.language_scores(stage.terms, stage.docs) for stage in stages]
        for depth in GRID["depth"]:
            run = {}
            for i, (stage, language) in enumerate(zip(stages, languages, strict=True)):
                top = reranker.rerank(stage.ranked, language[:depth])
                run[str(i)] = {str(k): s for k, s in top[:100]}
            scores = evaluate(qrels, run)
            results.append({"blend": blend, "exact": exact, "depth": depth, **scores})
    return results


def _lexical_weights(point: dict[str, float]) -> dict[str, Any]:
    """The reranker's weights at a point of ``_grid``."""
    return {"blend": point["blend"], "exact": point["exact"], "depth": int(point["depth"])}


def _dense_weights(point: dict[str, float]) -> dict[str, Any]:
    """The e5 weights at a point of ``_dense_grid``."""
    return {"dense": point["dense"], "dense_depth": int(point["dense_depth"])}


def fit_department_model(rows: Sequence[dict], analyzer: Analyzer) -> DepartmentModel:
    """The department classifier, from the rows' own department labels."""
    return DepartmentModel.fit(
        [(analyzer.terms(question_text(r)), label) for r in rows if (label := department_of(r))]
    )


def fit_models(
    rows: Sequence[dict],
    analyzer: Analyzer,
    seed: int = 13,
    on_step: Callable[[str], None] = lambda step: None,
    vectors: TextVectors | None = None,
) -> Trained:
    """The translation model trained on all ``rows`` with the weights that did best on a
    validation part of them, and the confidence model learned on that validation part; with
    ``vectors``, the e5 weights too and a second confidence model that reads the cosines."""
    fit, held = split(list(rows), seed=seed, share=1 - VALIDATION_SHARE)
    order = fit + held
    on_step("translation table on 80% of the training rows")
    model = train_translation(pairs_of(fit, analyzer))
    on_step("weights and confidence examples on the other 20%")
    classifier = fit_department_model(fit, analyzer)
    validated = _validation(model, order, held, analyzer, vectors, classifier)
    best = max(validated.grid, key=lambda g: g["ndcg@10"])
    chosen = _lexical_weights(best)
    on_step("confidence model")
    confidence, report = fit_confidence(validated.questions)
    dense_confidence = dense_report = None
    if validated.dense_grid and validated.dense_questions:
        top = max(validated.dense_grid, key=lambda g: g["ndcg@10"])
        chosen |= _dense_weights(top)
        on_step("confidence model with e5")
        dense_confidence, dense_report = fit_confidence(validated.dense_questions)
    on_step("translation table on all training rows")
    final = train_translation(pairs_of(rows, analyzer))
    return Trained(
        dataclasses.replace(final, **chosen),
        confidence,
        validated.grid,
        report,
        fit_department_model(rows, analyzer),
        dense_confidence,
        validated.dense_grid,
        dense_report,
    )
