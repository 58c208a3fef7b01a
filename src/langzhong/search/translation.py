"""A word translation model learned from question/answer pairs (IBM Model 1, EM in numpy).

t(q | a) is the probability that a patient writes word q where the doctor's answer has word a
(腰酸 ↔ 腰痛, 拉肚子 ↔ 腹泻); the translation-based language model for question-answer archives
(Xue, Jeon and Croft, SIGIR 2008) scores an answer by how well it "translates" into the question.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from scipy import sparse

MIN_PROBABILITY = 0.005  # pruned below this: keeps the shipped model small, costs no accuracy


@dataclass(frozen=True)
class TranslationModel:
    vocab: tuple[str, ...]
    table: sparse.csr_matrix  # rows: answer word a, columns: question word q, value t(q|a)
    background: np.ndarray  # P(w | answers): the collection language model
    # Mixing weights (see rerank.py), chosen on a validation part of the training rows.
    exact: float = 0.5  # share of exact matches against translations
    smoothing: float = 0.2  # share of the collection model
    blend: float = 0.5  # share of the translation score against BM25 in the final order
    depth: int = 100  # how many of BM25's best candidates are re-ordered
    # With dense retrieval on: the share of the e5 cosine in the final order, and how many of
    # the question's nearest documents by e5 join BM25's candidates.
    dense: float = 0.0
    dense_depth: int = 0

    def index_of(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.vocab)}

    def save(self, path: Path) -> None:
        """Write atomically: a reader sees the old model or the new one, never half of one."""
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as file:
            self._write(file)
        os.replace(partial, path)

    def _write(self, file: BinaryIO) -> None:
        np.savez_compressed(
            file,
            vocab=np.array(self.vocab, dtype=object).astype(str),
            data=self.table.data.astype(np.float32),
            indices=self.table.indices,
            indptr=self.table.indptr,
            background=self.background.astype(np.float32),
            weights=np.array(
                [self.exact, self.smoothing, self.blend, self.depth, self.dense, self.dense_depth]
            ),
        )

    @classmethod
    def load(cls, path: Path) -> TranslationModel:
        with np.load(path, allow_pickle=False) as npz:
            size = len(npz["vocab"])
            table = sparse.csr_matrix(
                (npz["data"], npz["indices"], npz["indptr"]), shape=(size, size)
            )
            # A model trained before dense retrieval has four weights: dense stays off.
            exact, smoothing, blend, depth, dense, dense_depth = [
                *(float(x) for x in npz["weights"]),
                0.0,
                0.0,
            ][:6]
            vocab = tuple(npz["vocab"].tolist())
            return cls(
                vocab,
                table,
                npz["background"],
                exact,
                smoothing,
                blend,
                int(depth),
                dense,
                int(dense_depth),
            )


def train_translation(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]], iterations: int = 6
) -> TranslationModel:
    """Learn t(q|a) from (question terms, answer terms) pairs."""
    vocab: dict[str, int] = {}
    q_ids, a_ids, groups = [], [], []
    group = 0
    counts: np.ndarray = np.zeros(0)
    answer_words: list[int] = []
    for question, answer in pairs:
        qs = np.array([vocab.setdefault(w, len(vocab)) for w in dict.fromkeys(question)], int)
        as_ = np.array([vocab.setdefault(w, len(vocab)) for w in answer], int)
        answer_words.extend(as_.tolist())
        unique_a = np.unique(as_)
        if not len(qs) or not len(unique_a):
            continue
        # every (q, a) alignment of this pair; each q word forms one normalisation group
        q_ids.append(np.repeat(qs, len(unique_a)))
        a_ids.append(np.tile(unique_a, len(qs)))
        groups.append(np.repeat(np.arange(group, group + len(qs)), len(unique_a)))
        group += len(qs)
    size = len(vocab)
    q_all, a_all, g_all = (np.concatenate(x) for x in (q_ids, a_ids, groups))
    keys, slot = np.unique(a_all * size + q_all, return_inverse=True)
    key_a = keys // size
    t = np.full(len(keys), 1.0)
    for _ in range(iterations):
        weight = t[slot]
        posterior = weight / np.bincount(g_all, weight)[g_all]
        counts = np.bincount(slot, posterior, minlength=len(keys))
        t = counts / np.bincount(key_a, counts, minlength=size)[key_a]
    keep = t >= MIN_PROBABILITY
    table = sparse.csr_matrix(
        (t[keep].astype(np.float32), (key_a[keep], keys[keep] % size)), shape=(size, size)
    )
    background = np.bincount(np.array(answer_words, int), minlength=size).astype(np.float64)
    background = (background + 0.5) / (background.sum() + 0.5 * size)
    words = tuple(sorted(vocab, key=vocab.__getitem__))
    return TranslationModel(words, table, background)
