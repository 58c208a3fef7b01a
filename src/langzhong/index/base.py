"""The whole surface of a lexical index backend; each passes tests/test_index_contract.py.

Documents are keyed by the store's integer rowid and arrive already segmented into terms, so
a backend knows nothing of Chinese text, articles or SQLite tables other than its own.

An index is derived from the store's change log: writes are buffered until ``commit(checkpoint)``,
which makes them searchable and durable together with a note of the last change they include
(which store, which change). After a crash the indexer replays the log from ``checkpoint()``;
replaying a change twice
is harmless because upsert and delete are idempotent. Only one process writes an index at a time:
a write raises IndexBusy while another holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class IndexBusy(RuntimeError):
    """Another process is writing the index; it will apply the pending changes itself."""


class IndexUnavailable(RuntimeError):
    """A search server's index cannot be reached now; the store keeps every write meanwhile."""


class WriterLock(Protocol):
    """Held by the one process that writes a shared index (given by the store)."""

    def acquire(self) -> bool:
        """Take the lock without waiting; False while another process holds it."""

    def release(self) -> None:
        """Let go of it (nothing when not held)."""


@dataclass(frozen=True)
class IndexDoc:
    """One searchable document: the title's terms weigh more than the body's."""

    key: int
    title_terms: Sequence[str]
    body_terms: Sequence[str]
    # The e5 unit vector of the article's current content, for an index that holds vectors.
    vector: np.ndarray | None = None


@dataclass(frozen=True)
class Retrieved:
    """One question's candidates: BM25's ranking and e5's nearest, and what the reranker reads
    of them where the index answered it in the same call (None: asked for separately)."""

    ranked: list[tuple[int, float]]  # (key, BM25 score), best first
    nearest: list[int] = field(default_factory=list)  # keys by e5 cosine, best first
    term_hashes: dict[int, np.ndarray] | None = None  # as ``doc_term_hashes`` answers
    cosines: dict[int, float] | None = None  # with the question's vector, where a key has one


class LexicalIndex(Protocol):
    name: str
    # One index for every server (Milvus), rather than one per server's home.
    shared: bool
    # Holds each document's e5 vector too and answers ``retrieve`` (Milvus); the others leave
    # vectors to index/dense.py.
    holds_vectors: bool

    def claim(self) -> None:
        """Take the index for writing now, before any write (IndexBusy if another process has
        it), so that work meant for the writer alone, such as relogging a whole store, is not
        done by two processes."""

    def upsert(self, doc: IndexDoc) -> None:
        """Add the document, replacing any earlier one with the same key (buffered)."""

    def delete(self, key: int) -> None:
        """Forget the document; deleting an unknown key does nothing (buffered)."""

    def clear(self) -> None:
        """Forget every document (buffered): the start of a rebuild."""

    def commit(self, checkpoint: str) -> None:
        """Make the buffered writes searchable and durable, recording how far they reach."""

    def release(self) -> None:
        """Let other processes write the index (after a commit); the next write takes it back."""

    def checkpoint(self) -> str:
        """What the last commit recorded ("" for a new index)."""

    def search(self, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """Keys of the best documents matching any of the terms, best first, scores > 0.

        A term given twice counts twice: words a patient repeats are what the question is about.
        """

    def doc_count(self) -> int:
        """How many documents are indexed."""

    def term_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """How many documents are indexed and in how many each term occurs (terms in none are
        left out), both read from one state of the index: counts from two states can make a
        term seem to occur in more documents than there are."""

    def doc_term_hashes(self, keys: Sequence[int]) -> dict[int, np.ndarray]:
        """The title and body terms of each indexed document as ``text.term_hashes`` numbers,
        in order (unknown keys are left out)."""

    def close(self) -> None:
        """Release everything the index holds open."""


class HybridIndex(LexicalIndex, Protocol):
    """An index that holds the e5 vectors too (``holds_vectors``: Milvus)."""

    def retrieve(
        self,
        terms: Sequence[str],
        limit: int,
        question: np.ndarray | None = None,
        nearest: int = 0,
    ) -> Retrieved:
        """BM25's best ``limit`` for the terms and the question's ``nearest`` by e5, with what
        the reranker reads of them, in one call."""
