"""Second stage: re-order BM25's best candidates with the translation-based language model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from langzhong.search.translation import TranslationModel

UNSEEN = 1e-7  # collection probability of a word the model never saw


class TranslationReranker:
    def __init__(self, model: TranslationModel) -> None:
        self.model = model
        self.ids = model.index_of()
        self.table_csc = model.table.tocsc()

    def language_scores(self, query: Sequence[str], docs: Sequence[Sequence[str]]) -> np.ndarray:
        """log P(query | doc) under the translation LM, one value per document.

        Each query word counts as often as the question repeats it.
        """
        m = self.model
        repeats = Counter(query)
        terms = list(repeats)
        if not terms or not docs:
            return np.zeros(len(docs))
        q_ids = np.array([self.ids.get(t, -1) for t in terms])
        known = np.flatnonzero(q_ids >= 0)
        # Only answer words that translate into some query word matter: a small block of t(q|a).
        block = self.table_csc[:, q_ids[known]].tocsr()
        sources = np.unique(block.nonzero()[0])
        table = np.zeros((len(sources), len(terms)))
        table[:, known] = block[sources].toarray()
        lengths = np.fromiter((max(len(d), 1) for d in docs), float, len(docs))
        owner = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
        flat = [word for doc in docs for word in doc]
        exact = _counts(flat, owner, {t: i for i, t in enumerate(terms)}, len(docs), len(terms))
        exact = exact.toarray()
        source_col = {m.vocab[a]: i for i, a in enumerate(sources)}
        words = _counts(flat, owner, source_col, len(docs), len(sources))
        translated = (words @ table) / lengths[:, None]
        background = np.where(q_ids >= 0, m.background[np.maximum(q_ids, 0)], UNSEEN)
        mixed = (1 - m.smoothing) * (
            m.exact * exact / lengths[:, None] + (1 - m.exact) * translated
        )
        weight = np.array([repeats[t] for t in terms], float)
        return np.log(mixed + m.smoothing * background) @ weight

    def rerank(
        self,
        query: Sequence[str],
        ranked: Sequence[tuple[int, float]],
        docs: Sequence[Sequence[str]],
    ) -> list[tuple[int, float]]:
        """``ranked`` (key, BM25 score) re-ordered by a blend of BM25 and the language score.

        Both are scaled to [0, 1] within the candidates, so the blend weight means the same for
        every question.
        """
        if len(ranked) < 2:
            return list(ranked)
        bm25 = np.array([s for _, s in ranked])
        language = self.language_scores(query, docs)
        blend = self.model.blend * _unit(language) + (1 - self.model.blend) * _unit(bm25)
        order = np.argsort(-blend, kind="stable")
        return [(ranked[i][0], float(blend[i])) for i in order]


def _counts(
    words: list[str], owner: np.ndarray, columns: dict[str, int], rows: int, width: int
) -> sparse.csr_matrix:
    """rows × width: how often each document (``owner`` of each word) has each column's word."""
    cols = np.fromiter((columns.get(w, -1) for w in words), int, len(words))
    hit = cols >= 0
    ones = np.ones(int(hit.sum()))
    return sparse.csr_matrix((ones, (owner[hit], cols[hit])), shape=(rows, width))


def _unit(values: np.ndarray) -> np.ndarray:
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else np.zeros_like(values)
