"""How likely each ranked document is to answer the question: a calibrated probability per hit.

A logistic model over what the ranking already knows about each candidate (BM25, the
translation model, how much of the question the document covers), trained by ``langzhong
train`` on the train split only (``training/confidence.py``) and shipped as
``data/confidence.npz``. The page shows only hits whose confidence clears ``threshold``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from langzhong.question import Question, points
from langzhong.search.rerank import TranslationReranker, imputed
from langzhong.text import Analyzer
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
    "dense",  # e5 cosine of question and document (where it has none yet: what its words earn)
    "dense_gap",  # ... below the best candidate's
)
# Whether the document speaks to the point the patient asked (question.py: Question.point):
POINT_FEATURES = (
    "asks_point",  # the question says what it asks (a cue of data/points.toml)
    "point_answered",  # the document uses a word answers to that point use
    "point_object",  # share of the words of what it asks about (能喝酒吗: 酒) the document has
)


@dataclass(frozen=True)
class PointNumbers:
    """The asked point as term numbers: the words that answer it, and what it asks about."""

    answers: np.ndarray
    object: np.ndarray

    @property
    def asked(self) -> bool:
        return bool(len(self.answers))


ASKING_VERBS = frozenset("吃喝用做吸抽打喂泡戴")  # 能喝酒吗 asks about 喝酒, not about 喝
NO_POINT = PointNumbers(np.zeros(0, np.uint64), np.zeros(0, np.uint64))


@functools.cache
def _answer_numbers(point_id: str, analyzer: Analyzer) -> np.ndarray:
    point = next(p for p in points() if p.id == point_id)
    words = {word for word in point.answers if analyzer.terms(word) == [word]}  # whole terms
    return np.unique(term_hashes(sorted(words)))


def point_numbers(question: Question, analyzer: Analyzer) -> PointNumbers:
    if question.point is None:
        return NO_POINT
    return PointNumbers(
        _answer_numbers(question.point, analyzer),
        np.unique(term_hashes([t for t in question.point_object if t not in ASKING_VERBS])),
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
    point: PointNumbers = NO_POINT  # the question's asked point


def rerank_with_signals(
    reranker: TranslationReranker,
    terms: Sequence[str],
    weights: dict[str, float],
    medical_words: frozenset[str],
    ranked: Sequence[tuple[int, float]],
    docs: Sequence[np.ndarray],
    dense: np.ndarray | None = None,
    department: np.ndarray | None = None,
    point: PointNumbers = NO_POINT,
) -> tuple[list[tuple[int, float]], CandidateSignals]:
    """The reranker's order of ``ranked`` (``docs``: the terms of its first candidates, as many
    as it re-orders; ``dense``: their e5 cosines; ``department``: their department lift) and
    the signals of those candidates in that order."""
    language = reranker.language_scores(terms, docs)
    if dense is not None and len(docs):
        bm25 = np.array([score for _, score in ranked[: len(docs)]], float)
        dense = imputed(dense, reranker.lexical(bm25, language))  # ranked on what it has
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
        point=point,
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
        cosine = np.nan_to_num(s.dense)  # imputed where a vector is missing (rerank_with_signals)
        answered = _presence(s.point.answers, s.docs).any(axis=1) if s.point.asked else 0.0
        about = _presence(s.point.object, s.docs).mean(axis=1) if len(s.point.object) else 0.0
        point = [
            np.full(n, float(s.point.asked)),
            np.broadcast_to(answered, n),
            np.broadcast_to(about, n),
        ]
        dense = [cosine, cosine - cosine.max(initial=-1.0), *point]
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
    best: float | None = (
        None  # named 「最佳回答」 from this confidence on (None: the page's own bar)
    )

    @property
    def dense(self) -> bool:
        """Whether it reads the dense features (and so needs dense retrieval on)."""
        return len(self.coef) >= len(FEATURES) + len(DENSE_FEATURES)

    @property
    def features(self) -> tuple[str, ...]:
        """The names of the features it reads, the first columns of ``feature_matrix``."""
        return (FEATURES + DENSE_FEATURES + POINT_FEATURES)[: len(self.coef)]

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
                features=np.array(self.features),
                mean=self.mean,
                scale=self.scale,
                coef=self.coef,
                intercept_threshold=np.array([self.intercept, self.threshold]),
                **({} if self.best is None else {"best": np.array(self.best)}),  # type: ignore[arg-type]
            )
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> ConfidenceModel:
        with np.load(path, allow_pickle=False) as npz:
            known = (
                FEATURES,
                FEATURES + DENSE_FEATURES,
                FEATURES + DENSE_FEATURES + POINT_FEATURES,
            )
            if tuple(npz["features"].tolist()) not in known:
                raise ValueError(f"{path} was trained on other features; run `langzhong train`")
            intercept, threshold = (float(x) for x in npz["intercept_threshold"])
            best = float(npz["best"]) if "best" in npz.files else None
            return cls(npz["mean"], npz["scale"], npz["coef"], intercept, threshold, best)
