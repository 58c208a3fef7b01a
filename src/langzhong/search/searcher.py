"""From a colloquial question to scored articles: analyse, retrieve with BM25, load."""

from __future__ import annotations

import math
from dataclasses import dataclass

from langzhong.core import Article
from langzhong.index import LexicalIndex
from langzhong.search.rerank import TranslationReranker
from langzhong.store import ArticleStore
from langzhong.text import Analyzer

MAX_CANDIDATES = 100  # the deepest page of results anyone is shown


@dataclass(frozen=True)
class Candidate:
    article: Article
    score: float


@dataclass(frozen=True)
class Results:
    terms: tuple[str, ...]
    term_weights: dict[str, float]  # inverse document frequency of each query term
    candidates: tuple[Candidate, ...]
    medical: bool  # the question names at least one word of the medical lexicons


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
        return list(dict.fromkeys(self.analyzer.terms(query)))

    def term_weights(self, terms: list[str]) -> dict[str, float]:
        """BM25's inverse document frequency, so rare words count for more in passages too."""
        total = self.index.doc_count()
        freqs = self.index.doc_freqs(terms)
        return {
            t: math.log(1 + (total - freqs.get(t, 0) + 0.5) / (freqs.get(t, 0) + 0.5))
            for t in terms
        }

    def search(self, query: str, limit: int = MAX_CANDIDATES) -> Results:
        terms = self.query_terms(query)
        with self.store.lock:
            depth = self.reranker.model.depth if self.reranker else MAX_CANDIDATES
            ranked = self.index.search(terms, max(depth, MAX_CANDIDATES))
            if self.reranker is not None:
                docs = self.index.doc_terms([key for key, _ in ranked])
                ranked = self.reranker.rerank(terms, ranked, [docs.get(k, []) for k, _ in ranked])
            ranked = ranked[: min(limit, MAX_CANDIDATES)]
            weights = self.term_weights(terms)
        articles = self.store.get_by_rowids([key for key, _ in ranked])
        candidates = tuple(
            Candidate(articles[key], score) for key, score in ranked if key in articles
        )
        return Results(tuple(terms), weights, candidates, self.analyzer.is_medical(terms))
