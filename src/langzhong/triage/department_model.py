"""Which department a question belongs to, learned from the dataset's own department labels.

Multinomial naive Bayes over the analyzer's terms, trained by ``langzhong train`` on the train
split only and shipped as ``data/department.npz``. It only knows the departments the training
rows name (the demo data is internal medicine), so ``answer/department.py`` asks its explicit
rules (a child, pregnancy, teeth, eyes…) first.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_WORD_COUNT = 2  # rarer words are dropped: they only memorise single rows
SMOOTHING = 0.5
LIFT_RANGE = (-8.0, 4.0)  # a word-count classifier's extreme odds say no more than this


@dataclass(frozen=True)
class DepartmentModel:
    labels: tuple[str, ...]
    vocab: dict[str, int]
    log_prior: np.ndarray  # per label
    log_likelihood: np.ndarray  # vocab × labels

    def predict(self, terms: Sequence[str]) -> tuple[str | None, float]:
        """The most probable department and its posterior probability (None: no known word)."""
        posterior = self._posterior(terms)
        if posterior is None:
            return None, 0.0
        best = int(posterior.argmax())
        return self.labels[best], float(posterior[best])

    def lift(self, terms: Sequence[str], departments: Sequence[str | None]) -> np.ndarray:
        """For each of ``departments`` (a document's own label), log(posterior / prior): how much
        the question points to it (0, no evidence either way, for a label the model does not
        know and for a question with no known word)."""
        lift = np.zeros(len(departments))
        posterior = self._posterior(terms)
        if posterior is None:
            return lift
        ratio = np.clip(np.log(np.maximum(posterior, 1e-300)) - self.log_prior, *LIFT_RANGE)
        for i, department in enumerate(departments):
            if department in self._column:
                lift[i] = ratio[self._column[department]]
        return lift

    @functools.cached_property
    def _column(self) -> dict[str, int]:
        """Each label's position (made once: ``lift`` runs on every search)."""
        return {label: j for j, label in enumerate(self.labels)}

    def _posterior(self, terms: Sequence[str]) -> np.ndarray | None:
        ids = [self.vocab[t] for t in terms if t in self.vocab]
        if not ids:
            return None
        scores = self.log_prior + self.log_likelihood[ids].sum(axis=0)
        posterior = np.exp(scores - scores.max())
        return posterior / posterior.sum()

    @classmethod
    def fit(cls, examples: Sequence[tuple[Sequence[str], str]]) -> DepartmentModel:
        """``examples``: (question terms, department label) pairs."""
        counts = Counter(t for terms, _ in examples for t in terms)
        vocab = {
            t: i for i, t in enumerate(sorted(w for w, n in counts.items() if n >= MIN_WORD_COUNT))
        }
        labels = tuple(sorted({label for _, label in examples}))
        column = {label: j for j, label in enumerate(labels)}
        table = np.full((len(vocab), len(labels)), SMOOTHING)
        prior = np.zeros(len(labels))
        for terms, label in examples:
            prior[column[label]] += 1
            for t in terms:
                if t in vocab:
                    table[vocab[t], column[label]] += 1
        likelihood = np.log(table / table.sum(axis=0))
        return cls(labels, vocab, np.log(prior / prior.sum()), likelihood)

    def save(self, path: Path) -> None:
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as file:
            np.savez_compressed(
                file,
                labels=np.array(self.labels),
                vocab=np.array(sorted(self.vocab, key=self.vocab.__getitem__)),
                log_prior=self.log_prior,
                log_likelihood=self.log_likelihood.astype(np.float32),
            )
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> DepartmentModel:
        with np.load(path, allow_pickle=False) as npz:
            vocab = {w: i for i, w in enumerate(npz["vocab"].tolist())}
            return cls(
                tuple(npz["labels"].tolist()), vocab, npz["log_prior"], npz["log_likelihood"]
            )
