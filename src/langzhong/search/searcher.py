"""From a colloquial question to scored articles: analyse, retrieve with BM25, load."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np

from langzhong.core import Article
from langzhong.index import LexicalIndex
from langzhong.index.base import HybridIndex, Retrieved
from langzhong.index.dense import DenseIndex
from langzhong.question import Question, read_question
from langzhong.search.confidence import (
    CandidateSignals,
    ConfidenceModel,
    PointNumbers,
    feature_matrix,
    point_numbers,
    rerank_with_signals,
)
from langzhong.search.dense import DenseSearch
from langzhong.search.rerank import TranslationReranker, join_nearest
from langzhong.store import ArticleStore
from langzhong.text import Analyzer

MAX_CANDIDATES = 100  # the deepest page of results anyone is shown
NO_TERMS = np.zeros(0, np.uint64)
SYNONYM_DIVISOR = 2  # a synonym's word weighs this much less than the patient's own words
# A word in more than this share of the documents barely moves BM25 (its IDF is below log 5),
# yet tantivy walks its whole posting list: where that list is long (LONG_LIST documents), the
# first stage leaves it out, while the reranker and the confidence features still read it. In
# smaller indexes it costs little and leaving it out cost quality (docs/engine.md).
COMMON_SHARE = 0.2
LONG_LIST = 50_000
# How much the question's terms point to each candidate's department label (None: unlabelled)
DepartmentLift = Callable[[list[str], list[str | None]], np.ndarray]


def idf_weights(index: LexicalIndex, terms: list[str]) -> dict[str, float]:
    """BM25's inverse document frequency, so rare words count for more in passages too."""
    return idf_of(terms, *index.term_stats(terms))


def idf_of(terms: list[str], total: int, freqs: dict[str, int]) -> dict[str, float]:
    """``idf_weights`` from the index's counts (``LexicalIndex.term_stats``)."""
    return {
        t: math.log(1 + (total - freqs.get(t, 0) + 0.5) / (freqs.get(t, 0) + 0.5)) for t in terms
    }


def first_stage_terms(terms: list[str], total: int, freqs: dict[str, int]) -> list[str]:
    """The words BM25's first stage searches: ``terms`` but those in more than COMMON_SHARE of
    the ``total`` documents and in more than LONG_LIST, as long as one word the index holds is
    left (else all of them). ``freqs``: each word's document count (``LexicalIndex.term_stats``;
    absent words miss)."""
    common = {t for t in terms if freqs.get(t, 0) > max(COMMON_SHARE * total, LONG_LIST)}
    if not any(t in freqs for t in terms if t not in common):
        return terms
    return [t for t in terms if t not in common]


@dataclass(frozen=True)
class Candidate:
    article: Article
    score: float
    confidence: float | None = None  # None where no confidence model is loaded


@dataclass(frozen=True)
class Results:
    terms: tuple[str, ...]
    term_weights: dict[str, float]  # inverse document frequency of each query term
    candidates: tuple[Candidate, ...]  # the requested window of the ranking, articles loaded
    medical: bool  # the question names at least one word of the medical lexicons
    total: int = 0  # how many the window was taken from: ranked, or confident when cut
    ranked: int = 0  # how many were ranked (at most MAX_CANDIDATES)
    confident: int = 0  # how many cleared the confidence threshold (all, with no model)
    titled: bool = False  # the question is a stored article's own title
    best: float | None = None  # the confidence model's bar for a 「最佳回答」 (None: the page's)


@dataclass(frozen=True)
class _Found:
    terms: list[str]
    weights: dict[str, float]
    depth: int  # how many of BM25's candidates the reranker re-orders
    vector: np.ndarray | None  # the question's e5 vector (None: dense retrieval off)
    found: Retrieved
    point: PointNumbers  # the question's asked point, as term numbers


@dataclass(frozen=True)
class _Ranked:
    terms: list[str]
    weights: dict[str, float]
    keys: list[int]
    scores: list[float]
    confidences: np.ndarray | None
    threshold: float | None  # of the confidence model that scored them
    titled: bool
    best: float | None = None


class Searcher:
    def __init__(
        self,
        store: ArticleStore,
        index: LexicalIndex,
        analyzer: Analyzer,
        reranker: TranslationReranker | None = None,
        confidence: ConfidenceModel | None = None,
        other_names: Callable[[str], list[str]] | None = None,
        dense: DenseSearch | None = None,
        dense_confidence: ConfidenceModel | None = None,
        department_lift: DepartmentLift | None = None,
    ) -> None:
        self.store, self.index, self.analyzer = store, index, analyzer
        self.reranker, self.confidence = reranker, confidence
        self.other_names = other_names  # synonyms of what the question names (knowledge/)
        # e5 retrieval, and the confidence model that reads its cosines (docs/ranking.md)
        self.dense, self.dense_confidence = dense, dense_confidence
        # the question's department against each candidate's label: a confidence feature
        self.department_lift = department_lift

    def query_terms(self, query: str) -> list[str]:
        """The question's terms, repeats kept: a repeated word weighs more in ranking."""
        return self.analyzer.terms(query)

    def search(
        self,
        query: str,
        start: int = 0,
        count: int = MAX_CANDIDATES,
        confident: bool = False,
        question: Question | None = None,
    ) -> Results:
        """Rank the question's candidates; load the articles of ``[start, start + count)``.

        ``confident``: only the candidates whose confidence clears the model's threshold (all of
        them where no confidence model is loaded); ``question``: the question read once (its
        asked point is a confidence feature), read here where not given.
        """
        ranked = self._rank(query, question or read_question(query, self.analyzer))
        entries = list(zip(ranked.keys, ranked.scores, strict=True))
        confidences: list[float | None] = [None] * len(entries)
        if ranked.confidences is not None:
            confidences = ranked.confidences.tolist()
        rows = list(zip(entries, confidences, strict=True))
        passed = rows
        if (threshold := ranked.threshold) is not None:  # then every hit has its confidence
            passed = [row for row in rows if row[1] is not None and row[1] >= threshold]
        if confident:
            rows = passed
        window = rows[start : start + count]
        articles = self.store.get_by_rowids([key for (key, _), _ in window])
        candidates = tuple(
            Candidate(articles[key], score, confidence)
            for (key, score), confidence in window
            if key in articles
        )
        medical = self.analyzer.is_medical(ranked.terms)
        terms = tuple(dict.fromkeys(ranked.terms))
        return Results(
            terms,
            ranked.weights,
            candidates,
            medical,
            len(rows),
            len(entries),
            len(passed),
            ranked.titled,
            ranked.best,
        )

    def _candidates(self, query: str, question: Question) -> _Found:
        """The first stage: the question's terms, their weights, and BM25's and e5's candidates."""
        terms = list(question.terms)
        distinct = list(dict.fromkeys(terms))
        total, freqs = self.index.term_stats(distinct)
        weights = idf_of(distinct, total, freqs)
        depth = self.reranker.model.depth if self.reranker else MAX_CANDIDATES
        searched = first_stage_terms(self._with_synonyms(query, terms), total, freqs)
        # A question with no word to search (all filler or unknown) is not one e5 should guess at.
        vector = self._question_vector(query) if terms else None
        found = self._retrieve(searched, max(depth, MAX_CANDIDATES), vector)
        return _Found(terms, weights, depth, vector, found, point_numbers(question, self.analyzer))

    def head_features(self, query: str, question: Question) -> tuple[list[int], np.ndarray]:
        """The reranked head's keys and the confidence features of each, in that order (what
        ``langzhong train`` fits the confidence to judged answers on)."""
        c = self._candidates(query, question)
        if self.reranker is None or not (c.found.ranked or c.vector is not None):
            return [], np.zeros((0, 0))
        reranked, signals = self._signals(c, with_department=True)
        return [key for key, _ in reranked[: len(signals.bm25)]], feature_matrix(signals)

    def _rank(self, query: str, question: Question) -> _Ranked:
        c = self._candidates(query, question)
        terms, weights, ranked = c.terms, c.weights, c.found.ranked
        model = self.confidence
        if c.vector is not None and self.dense_confidence is not None:
            model = self.dense_confidence
        confidences = None
        if self.reranker is not None and (ranked or c.vector is not None):
            ranked, confidences = self._rerank(c, model)
        if confidences is None and model is not None:
            confidences = np.zeros(len(ranked))  # nothing was reranked: nothing is confident
        titled = self.store.rowids_titled(query.strip())
        if titled:
            ranked, confidences = _title_first(titled, ranked, confidences)
        ranked = ranked[:MAX_CANDIDATES]
        if confidences is not None:
            confidences = confidences[:MAX_CANDIDATES]
        keys, scores = [k for k, _ in ranked], [s for _, s in ranked]
        threshold = model.threshold if model is not None else None
        best = model.best if model is not None else None
        return _Ranked(terms, weights, keys, scores, confidences, threshold, bool(titled), best)

    def _retrieve(self, terms: list[str], limit: int, question: np.ndarray | None) -> Retrieved:
        """BM25's candidates and e5's nearest: in one call to an index that holds the vectors
        (Milvus), else from the lexical index and the in-memory dense index."""
        nearest = self.reranker.model.dense_depth if question is not None and self.reranker else 0
        if self.index.holds_vectors:
            return cast(HybridIndex, self.index).retrieve(terms, limit, question, nearest)
        ranked = self.index.search(terms, limit)
        vectors = self.dense.index if self.dense is not None else None
        if not nearest or question is None or not isinstance(vectors, DenseIndex):
            return Retrieved(ranked)
        return Retrieved(ranked, [key for key, _ in vectors.nearest(question, nearest)])

    def _question_vector(self, query: str) -> np.ndarray | None:
        """The question's e5 vector, when dense retrieval is on and documents have vectors."""
        if self.dense is None or self.reranker is None or not self.dense.ready():
            return None
        return self.dense.question(query)

    def _with_synonyms(self, query: str, terms: list[str]) -> list[str]:
        """The question's terms, and at half their weight the words of the other names of what
        it names: 甲亢 finds 甲状腺功能亢进症 too."""
        if self.other_names is None:
            return terms
        extra = [t for name in self.other_names(query) for t in self.analyzer.terms(name)]
        extra = [t for t in dict.fromkeys(extra) if t not in terms]
        return terms * SYNONYM_DIVISOR + extra if extra else terms

    def _signals(
        self, c: _Found, with_department: bool
    ) -> tuple[list[tuple[int, float]], CandidateSignals]:
        """The reranker's order of the candidates, and the signals of its head.

        With the question's e5 vector, its nearest documents join BM25's head (``join_nearest``)
        and every head candidate gets its cosine.
        """
        assert self.reranker is not None
        found, ranked = c.found, c.found.ranked
        head = [key for key, _ in ranked[: c.depth]]
        dense = None
        if c.vector is not None and self.dense is not None:
            ranked, joined = join_nearest(ranked, c.depth, found.nearest)
            head += joined
            if found.cosines is not None:  # the index holds the vectors: it said them
                dense = np.array([found.cosines.get(k, np.nan) for k in head])
            elif isinstance(vectors := self.dense.index, DenseIndex):
                dense = vectors.similarities(c.vector, head)
        hashes = found.term_hashes
        if hashes is None:
            hashes = self.index.doc_term_hashes(head)
        docs = [hashes.get(k, NO_TERMS) for k in head]
        department = None
        if self.department_lift is not None and with_department:  # a confidence feature only
            labels = self.store.departments(head)
            department = self.department_lift(c.terms, [labels.get(k) for k in head])
        return rerank_with_signals(
            self.reranker,
            c.terms,
            c.weights,
            self.analyzer.medical_words,
            ranked,
            docs,
            dense,
            department,
            c.point,
        )

    def _rerank(
        self, c: _Found, model: ConfidenceModel | None
    ) -> tuple[list[tuple[int, float]], np.ndarray | None]:
        """The reranker's order, and each candidate's confidence (0 below the reranked head)."""
        if not c.found.ranked[: c.depth] and not c.found.nearest:
            return c.found.ranked, None
        reranked, signals = self._signals(c, with_department=model is not None)
        head = signals.bm25
        if not len(head):
            return reranked, None
        if model is None:
            return reranked, None
        # The confidence model is the learned fusion of every signal: the head is shown in its
        # order, scored by it (on validation: nDCG@10 0.3626 → 0.3670 with e5, unchanged
        # without; docs/ranking.md).
        predicted = model.predict(feature_matrix(signals))
        order = np.argsort(-predicted, kind="stable")
        reranked = [(reranked[i][0], float(predicted[i])) for i in order] + reranked[len(head) :]
        confidences = np.zeros(len(reranked))
        confidences[: len(head)] = predicted[order]
        return reranked, confidences


def _title_first(
    titled: list[int], ranked: list[tuple[int, float]], confidences: np.ndarray | None
) -> tuple[list[tuple[int, float]], np.ndarray | None]:
    """The articles whose title is the question itself come first, and are shown: such a page
    exists to answer exactly that question."""
    top = max((score for _, score in ranked), default=1.0)
    kept = [i for i, (key, _) in enumerate(ranked) if key not in titled]
    ranked = [(key, top) for key in titled] + [ranked[i] for i in kept]
    if confidences is not None:
        confidences = np.concatenate([np.ones(len(titled)), confidences[kept]])
    return ranked, confidences
