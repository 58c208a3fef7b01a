"""Second stage: re-order BM25's best candidates with the translation-based language model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from langzhong.search.translation import TranslationModel
from langzhong.text.hashing import term_hashes

UNSEEN = 1e-7  # collection probability of a word the model never saw


class TranslationReranker:
    def __init__(self, model: TranslationModel) -> None:
        self.model = model
        self.ids = model.index_of()
        self.table_csc = model.table.tocsc()
        self.numbers = term_hashes(model.vocab)  # each vocabulary word's term number

    def language_scores(self, query: Sequence[str], docs: Sequence[np.ndarray]) -> np.ndarray:
        """log P(query | doc) under the translation LM, one value per document; ``docs`` are
        the documents' terms as ``text.term_hashes`` numbers.

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
        sizes = np.fromiter((len(d) for d in docs), np.int64, len(docs))
        lengths = np.maximum(sizes, 1).astype(float)
        owner = np.repeat(np.arange(len(docs)), sizes)
        words = np.concatenate(docs) if sizes.sum() else np.zeros(0, np.uint64)
        query_words = _columns(words, term_hashes(terms), np.arange(len(terms)))
        exact = _counts(owner, query_words, len(docs), len(terms))
        source_words = _columns(words, self.numbers[sources], np.arange(len(sources)))
        translated = _counts(owner, source_words, len(docs), len(sources)) @ table
        translated /= lengths[:, None]
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
        docs: Sequence[np.ndarray],
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


def _columns(values: np.ndarray, wanted: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """For each value, the column paired with it in ``wanted``/``columns``, or -1."""
    if len(wanted) == 0 or len(values) == 0:
        return np.full(len(values), -1)
    order = np.argsort(wanted)
    ranked = wanted[order]
    at = np.minimum(np.searchsorted(ranked, values), len(ranked) - 1)
    return np.where(ranked[at] == values, columns[order][at], -1)


def _counts(owner: np.ndarray, columns: np.ndarray, rows: int, width: int) -> np.ndarray:
    """rows × width: how often each document (``owner`` of each word) has each column's word."""
    hit = columns >= 0
    cells = np.bincount(owner[hit] * width + columns[hit], minlength=rows * width)
    return cells.reshape(rows, width).astype(float)


def _unit(values: np.ndarray) -> np.ndarray:
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else np.zeros_like(values)
