"""From a colloquial question to scored articles: analyse, retrieve with BM25, load."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from langzhong.core import Article
from langzhong.index import LexicalIndex
from langzhong.search.rerank import TranslationReranker
from langzhong.store import ArticleStore
from langzhong.text import Analyzer

MAX_CANDIDATES = 100  # the deepest page of results anyone is shown
NO_TERMS = np.zeros(0, np.uint64)


@dataclass(frozen=True)
class Candidate:
    article: Article
    score: float


@dataclass(frozen=True)
class Results:
    terms: tuple[str, ...]
    term_weights: dict[str, float]  # inverse document frequency of each query term
    candidates: tuple[Candidate, ...]  # the requested window of the ranking, articles loaded
    medical: bool  # the question names at least one word of the medical lexicons
    total: int = 0  # how many were ranked (at most MAX_CANDIDATES)
    best: Article | None = None  # the top article, whichever window was asked for


class Searcher:
    def __init__(
        self,
        store: ArticleStore,
        index: LexicalIndex,
        analyzer: Analyzer,
        reranker: TranslationReranker | None = None,
    ) -> None:
        self.store, self.index, self.analyzer = store, index, analyzer
        self.reranker = reranker

    def query_terms(self, query: str) -> list[str]:
        """The question's terms, repeats kept: a repeated word weighs more in ranking."""
        return self.analyzer.terms(query)

    def term_weights(self, terms: list[str]) -> dict[str, float]:
        """BM25's inverse document frequency, so rare words count for more in passages too."""
        total, freqs = self.index.term_stats(terms)
        return {
            t: math.log(1 + (total - freqs.get(t, 0) + 0.5) / (freqs.get(t, 0) + 0.5))
            for t in terms
        }

    def search(self, query: str, start: int = 0, count: int = MAX_CANDIDATES) -> Results:
        """Rank the question's candidates; load the articles of ``[start, start + count)``."""
        terms = self.query_terms(query)
        depth = self.reranker.model.depth if self.reranker else MAX_CANDIDATES
        ranked = self.index.search(terms, max(depth, MAX_CANDIDATES))
        if self.reranker is not None:
            head = [key for key, _ in ranked[:depth]]
            docs = self.index.doc_term_hashes(head)
            ranked = self.reranker.rerank(terms, ranked, [docs.get(k, NO_TERMS) for k in head])
        ranked = ranked[:MAX_CANDIDATES]
        weights = self.term_weights(list(dict.fromkeys(terms)))
        window = ranked[start : start + count]
        keys = [key for key, _ in window] + [key for key, _ in ranked[:1]]
        articles = self.store.get_by_rowids(keys)
        candidates = tuple(Candidate(articles[k], score) for k, score in window if k in articles)
        best = articles.get(ranked[0][0]) if ranked else None
        medical = self.analyzer.is_medical(terms)
        return Results(tuple(dict.fromkeys(terms)), weights, candidates, medical, len(ranked), best)
