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
        sources, table = self._translations(q_ids)
        # Every document word is looked up once among the words that matter: the query's own
        # (exact matches) and those that translate into them.
        wanted, where = np.unique(
            np.concatenate([term_hashes(terms), self.numbers[sources]]), return_inverse=True
        )
        sizes = np.fromiter((len(d) for d in docs), np.int64, len(docs))
        lengths = np.maximum(sizes, 1).astype(float)
        owner = np.repeat(np.arange(len(docs)), sizes)
        words = np.concatenate(docs) if sizes.sum() else np.zeros(0, np.uint64)
        counts = _counts(owner, _positions(words, wanted), len(docs), len(wanted))
        exact = counts[:, where[: len(terms)]]
        translated = counts[:, where[len(terms) :]] @ table
        translated /= lengths[:, None]
        background = np.where(q_ids >= 0, m.background[np.maximum(q_ids, 0)], UNSEEN)
        mixed = (1 - m.smoothing) * (
            m.exact * exact / lengths[:, None] + (1 - m.exact) * translated
        )
        weight = np.array([repeats[t] for t in terms], float)
        return np.log(mixed + m.smoothing * background) @ weight

    def _translations(self, q_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary ids of the answer words that translate into some query word, and
        their t(q|a) as a sources × query-words table (read straight from the CSC arrays:
        scipy's slicing costs more than the whole lookup)."""
        table = self.table_csc
        known = np.flatnonzero(q_ids >= 0)
        starts, ends = table.indptr[q_ids[known]], table.indptr[q_ids[known] + 1]
        rows = np.concatenate(
            [table.indices[a:b] for a, b in zip(starts, ends, strict=True)] or [[]]
        )
        values = np.concatenate(
            [table.data[a:b] for a, b in zip(starts, ends, strict=True)] or [[]]
        )
        sources, row = np.unique(rows.astype(np.int64), return_inverse=True)
        block = np.zeros((len(sources), len(q_ids)))
        block[row, np.repeat(known, ends - starts)] = values
        return sources, block

    def background_scores(self, query: Sequence[str]) -> float:
        """log P(query) under the collection model alone: what any document scores at least."""
        m = self.model
        ids = np.array([self.ids.get(t, -1) for t in query])
        background = np.where(ids >= 0, m.background[np.maximum(ids, 0)], UNSEEN)
        return float(np.log(m.smoothing * background).sum()) if len(ids) else 0.0

    def lexical(self, bm25: np.ndarray, language: np.ndarray) -> np.ndarray:
        """The words' part of the order: BM25 and the language scores, each scaled to [0, 1]."""
        return self.model.blend * _unit(language) + (1 - self.model.blend) * _unit(bm25)

    def rerank(
        self,
        ranked: Sequence[tuple[int, float]],
        language: np.ndarray,
        dense: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """``ranked`` (key, BM25 score) with its first ``len(language)`` candidates re-ordered by
        a blend of BM25 and their language scores (``language_scores``), and with ``dense``
        (each candidate's e5 cosine, NaN where it has none) the model's share of that; the rest
        follow in BM25's order, scored 0.

        Each score is scaled to [0, 1] within the re-ordered candidates, so the weights mean the
        same for every question.
        """
        head, tail = ranked[: len(language)], [(key, 0.0) for key, _ in ranked[len(language) :]]
        if len(head) < 2:
            return [*head, *tail]
        blend = self.lexical(np.array([s for _, s in head]), language)
        if dense is not None and self.model.dense:
            blend = (1 - self.model.dense) * blend + self.model.dense * _unit(imputed(dense, blend))
        order = np.argsort(-blend, kind="stable")
        return [(head[i][0], float(blend[i])) for i in order] + tail


def join_nearest(
    ranked: Sequence[tuple[int, float]], depth: int, nearest: Sequence[int]
) -> tuple[list[tuple[int, float]], list[int]]:
    """BM25's ``ranked`` (key, score) with the ``nearest`` keys e5 found joined to its first
    ``depth`` (the head, scored 0 by BM25), and those that joined. A joined document leaves
    any place it had further down BM25's list: every document is ranked once."""
    taken = {key for key, _ in ranked[:depth]}
    joined = [key for key in dict.fromkeys(nearest) if key not in taken]
    joining = set(joined)
    rest = [(key, score) for key, score in ranked[depth:] if key not in joining]
    return [*ranked[:depth], *((key, 0.0) for key in joined), *rest], joined


def imputed(dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
    """Cosines (NaN: no vector yet), a candidate without one given the cosine its words earn: its
    place between the lowest and highest known cosines by its ``lexical`` score. A document whose
    vector is still being made is ranked on what it has, never as if its cosine were the lowest
    (which buried new content until ``langzhong embed`` ran)."""
    missing = np.isnan(dense)
    if not missing.any():
        return dense
    known = dense[~missing]
    low, high = (float(known.min()), float(known.max())) if len(known) else (0.0, 0.0)
    out = dense.copy()
    out[missing] = low + _unit(lexical)[missing] * (high - low)
    return out


def _positions(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each value, its position in the sorted ``wanted``, or -1."""
    if len(wanted) == 0 or len(values) == 0:
        return np.full(len(values), -1)
    at = np.minimum(np.searchsorted(wanted, values), len(wanted) - 1)
    return np.where(wanted[at] == values, at, -1)


def _counts(owner: np.ndarray, columns: np.ndarray, rows: int, width: int) -> np.ndarray:
    """rows × width: how often each document (``owner`` of each word) has each column's word."""
    hit = columns >= 0
    cells = np.bincount(owner[hit] * width + columns[hit], minlength=rows * width)
    return cells.reshape(rows, width).astype(float)


def _unit(values: np.ndarray) -> np.ndarray:
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else np.zeros_like(values)
