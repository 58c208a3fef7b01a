"""How likely each ranked document is to answer the question: a calibrated probability per hit.

A logistic model over what the ranking already knows about each candidate (BM25, the
translation model, how much of the question the document covers), trained by ``langzhong
train`` on the train split only (``training/confidence.py``) and shipped as
``data/confidence.npz``. The page shows only hits whose confidence clears ``threshold``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from langzhong.search.rerank import TranslationReranker, filled
from langzhong.text.hashing import term_hashes

FEATURES = (
    "bm25",  # the first stage's score
    "bm25_share",  # ... as a share of the best candidate's
    "log_rank",  # position after reranking
    "blend",  # the reranker's blended score, scaled within the question's candidates
    "language_gain",  # log P(q|d) above the collection model, per question word
    "coverage",  # IDF-weighted share of the question's words the document contains
    "medical_coverage",  # ... of its medical-lexicon words (0 when it names none)
    "names_medical",  # whether the question names a medical-lexicon word
    "question_weight",  # log of the question's summed IDF: how specific it is
    "log_length",  # the document's length in terms
    "department",  # how much the question points to the document's department (0: unknown)
)
DENSE_FEATURES = (
    "dense",  # e5 cosine of question and document (the lowest candidate's where it has none)
    "dense_gap",  # ... below the best candidate's
)


@dataclass(frozen=True)
class CandidateSignals:
    """What the search knows about its reranked candidates, in their final order."""

    terms: Sequence[str]  # the question's terms, repeats kept
    weights: dict[str, float]  # IDF of each distinct term
    medical: frozenset[str]  # the question's medical-lexicon terms
    bm25: np.ndarray
    blend: np.ndarray
    language: np.ndarray  # log P(question | document) under the translation model
    background: float  # log P(question) under the collection model alone
    docs: Sequence[np.ndarray]  # each document's term numbers
    dense: np.ndarray | None = None  # e5 cosine (NaN: no vector), when dense retrieval is on
    department: np.ndarray | None = None  # ``DepartmentModel.lift`` of each document's label


def rerank_with_signals(
    reranker: TranslationReranker,
    terms: Sequence[str],
    weights: dict[str, float],
    medical_words: frozenset[str],
    ranked: Sequence[tuple[int, float]],
    docs: Sequence[np.ndarray],
    dense: np.ndarray | None = None,
    department: np.ndarray | None = None,
) -> tuple[list[tuple[int, float]], CandidateSignals]:
    """The reranker's order of ``ranked`` (``docs``: the terms of its first candidates, as many
    as it re-orders; ``dense``: their e5 cosines; ``department``: their department lift) and
    the signals of those candidates in that order."""
    language = reranker.language_scores(terms, docs)
    reranked = reranker.rerank(ranked, language, dense)
    position = {key: i for i, (key, _) in enumerate(ranked[: len(docs)])}
    order = np.array([position[key] for key, _ in reranked[: len(docs)]], int)
    signals = CandidateSignals(
        terms=terms,
        weights=weights,
        medical=frozenset(t for t in weights if t in medical_words),
        bm25=np.array([ranked[i][1] for i in order], float),
        blend=np.array([score for _, score in reranked[: len(docs)]], float),
        language=language[order] if len(order) else np.zeros(0),
        background=reranker.background_scores(terms),
        docs=[docs[i] for i in order],
        dense=dense[order] if dense is not None and len(order) else dense,
        department=department[order] if department is not None and len(order) else department,
    )
    return reranked, signals


def feature_matrix(signals: CandidateSignals) -> np.ndarray:
    """One row of ``FEATURES`` per candidate, and of ``DENSE_FEATURES`` too where the signals
    have dense cosines."""
    s = signals
    n = len(s.bm25)
    words = list(s.weights)
    numbers = term_hashes(words)
    weight = np.array([s.weights[w] for w in words])
    is_medical = np.array([w in s.medical for w in words], bool)
    present = _presence(numbers, s.docs)
    total = max(weight.sum(), 1e-9)
    medical_total = weight[is_medical].sum()
    medical = present[:, is_medical] @ weight[is_medical] / medical_total if medical_total else 0
    lengths = np.fromiter((len(d) for d in s.docs), float, n)
    dense = []
    if s.dense is not None:
        cosine = filled(s.dense)
        dense = [cosine, cosine - cosine.max(initial=-1.0)]
    return np.column_stack(
        [
            s.bm25,
            s.bm25 / max(s.bm25.max(initial=0.0), 1e-9),
            np.log1p(np.arange(n)),
            s.blend,
            (s.language - s.background) / max(len(s.terms), 1),
            present @ weight / total,
            np.broadcast_to(medical, n),
            np.full(n, float(bool(medical_total))),
            np.full(n, np.log1p(total)),
            np.log1p(lengths),
            s.department if s.department is not None else np.zeros(n),
            *dense,
        ]
    )


def _presence(numbers: np.ndarray, docs: Sequence[np.ndarray]) -> np.ndarray:
    """docs × numbers: whether each document holds each term number (one vectorised pass)."""
    present = np.zeros((len(docs), len(numbers)), bool)
    sizes = np.fromiter((len(d) for d in docs), np.int64, len(docs))
    if not len(numbers) or not sizes.sum():
        return present
    order = np.argsort(numbers)
    ordered = numbers[order]
    words = np.concatenate(docs)
    at = np.minimum(np.searchsorted(ordered, words), len(ordered) - 1)
    found = ordered[at] == words
    owner = np.repeat(np.arange(len(docs)), sizes)
    present[owner[found], order[at[found]]] = True
    return present


@dataclass(frozen=True)
class ConfidenceModel:
    mean: np.ndarray  # standardisation of each feature
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float  # shown when confidence >= threshold (chosen on validation)

    @property
    def dense(self) -> bool:
        """Whether it reads the dense features (and so needs dense retrieval on)."""
        return len(self.coef) == len(FEATURES) + len(DENSE_FEATURES)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """``features``: rows of ``feature_matrix``; a lexical model reads the first columns."""
        features = features[:, : len(self.coef)]
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return 1 / (1 + np.exp(-z))

    def save(self, path: Path) -> None:
        """Written atomically, like the translation model."""
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as file:
            np.savez(
                file,
                features=np.array(FEATURES + DENSE_FEATURES if self.dense else FEATURES),
                mean=self.mean,
                scale=self.scale,
                coef=self.coef,
                intercept_threshold=np.array([self.intercept, self.threshold]),
            )
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> ConfidenceModel:
        with np.load(path, allow_pickle=False) as npz:
            if tuple(npz["features"].tolist()) not in (FEATURES, FEATURES + DENSE_FEATURES):
                raise ValueError(f"{path} was trained on other features; run `langzhong train`")
            intercept, threshold = (float(x) for x in npz["intercept_threshold"])
            return cls(npz["mean"], npz["scale"], npz["coef"], intercept, threshold)
