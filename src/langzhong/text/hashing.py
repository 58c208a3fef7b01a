"""Terms as stable 64-bit numbers: an index stores a document's terms compactly this way, and the
reranker compares them with numpy instead of looking every word up in a Python dict.

blake2b, not ``hash()``: the numbers are written to disk and must be the same in every process.
Two different terms sharing a number is a 1-in-2^64 event per pair.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

REMEMBERED_TERMS = 2_000_000  # bounds the memory of the cache against endless new words
_cache: dict[str, int] = {}


def term_hash(term: str) -> int:
    known = _cache.get(term)
    if known is None:
        known = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")
        if len(_cache) < REMEMBERED_TERMS:
            _cache[term] = known
    return known


def term_hashes(terms: Iterable[str]) -> np.ndarray:
    """The terms' numbers, in order (uint64)."""
    return np.fromiter(map(term_hash, terms), np.uint64)
