"""The whole surface of a lexical index backend; each passes tests/test_index_contract.py.

Documents are keyed by the store's integer rowid and arrive already segmented into terms, so
a backend knows nothing of Chinese text, articles or SQLite tables other than its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class IndexDoc:
    """One searchable document: the title's terms weigh more than the body's."""

    key: int
    title_terms: Sequence[str]
    body_terms: Sequence[str]


class LexicalIndex(Protocol):
    name: str

    def upsert(self, doc: IndexDoc) -> None:
        """Add the document, replacing any earlier one with the same key."""

    def delete(self, key: int) -> None:
        """Forget the document; deleting an unknown key does nothing."""

    def search(self, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """Keys of the best documents matching any of the terms, best first, scores > 0.

        A term given twice counts twice: words a patient repeats are what the question is about.
        """

    def doc_count(self) -> int:
        """How many documents are indexed."""

    def doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        """In how many documents each term occurs (terms in no document are left out)."""

    def doc_terms(self, keys: Sequence[int]) -> dict[int, list[str]]:
        """The title and body terms of each indexed document (unknown keys are left out)."""
