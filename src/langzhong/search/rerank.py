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
        """log P(query | doc) under the translation LM, one value per document."""
        m = self.model
        terms = list(dict.fromkeys(query))
        if not terms or not docs:
            return np.zeros(len(docs))
        q_ids = [self.ids.get(t, -1) for t in terms]
        lengths = np.array([max(len(d), 1) for d in docs], float)
        # exact matches: term frequency of each query word in each document
        counted = [Counter(d) for d in docs]
        exact = np.array([[c[t] for t in terms] for c in counted], float) / lengths[:, None]
        # translations: sum over the document's words a of t(q|a) P(a|doc)
        rows, cols, vals = [], [], []
        for i, c in enumerate(counted):
            for word, n in c.items():
                j = self.ids.get(word)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
                    vals.append(n)
        doc_words = sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(m.vocab)))
        known = [j for j in q_ids if j >= 0]
        translated = np.zeros((len(docs), len(terms)))
        if known:
            sub = self.table_csc[:, known]
            block = (doc_words @ sub).toarray() / lengths[:, None]
            translated[:, [k for k, j in enumerate(q_ids) if j >= 0]] = block
        background = np.array([m.background[j] if j >= 0 else UNSEEN for j in q_ids])
        mixed = (1 - m.smoothing) * (m.exact * exact + (1 - m.exact) * translated)
        return np.log(mixed + m.smoothing * background).sum(axis=1)

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


def _unit(values: np.ndarray) -> np.ndarray:
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else np.zeros_like(values)
