"""The dense index: every article's vector in memory, searched exactly.

Loaded from the store's vector table (``store/vectors.py``) and kept in step with it by reading
only what changed since the last look, before each search. The matrix is float32 unit rows, so
a question's cosine against all of them is one BLAS product: about 0.4 ms at 7k documents and
12 ms at 100k on one core (docs/engine.md). Past ``SCAN_MAX`` documents the full scan is left
out and only the lexical candidates get a dense score.
"""

from __future__ import annotations

import threading

import numpy as np

from langzhong.store.vectors import VectorTable

SCAN_MAX = 200_000  # documents a full scan may cover (12 ms per 100k on one core)


class DenseIndex:
    def __init__(self, table: VectorTable, dim: int) -> None:
        self.table, self.dim = table, dim
        self._seq = 0
        self._row_of: dict[int, int] = {}
        self._keys = np.zeros(0, np.int64)  # -1 marks a removed row
        self._matrix = np.zeros((0, dim), np.float32)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._row_of)

    def refresh(self) -> None:
        """Take in the vectors written and removed since the last look (one query when none)."""
        with self._lock:
            seq, written, removed = self.table.changed_since(self._seq)
            if seq == self._seq:
                return
            # A vector still stored was written after any removal of its article: removals
            # first, then the writes.
            for rowid in removed:
                if (row := self._row_of.pop(rowid, None)) is not None:
                    self._keys[row] = -1
            new = [item for item in written if item[0] not in self._row_of]
            known = [item for item in written if item[0] in self._row_of]
            if known:
                self._matrix[[self._row_of[rowid] for rowid, _, _ in known]] = _units(known)
            if new:
                start = len(self._keys)
                rows = _units(new)
                self._matrix = np.concatenate([self._matrix, rows])
                self._keys = np.concatenate([self._keys, [rowid for rowid, _, _ in new]])
                self._row_of.update({rowid: start + i for i, (rowid, _, _) in enumerate(new)})
            self._seq = seq

    def similarities(self, question: np.ndarray, keys: list[int]) -> np.ndarray:
        """Cosine of each key's vector with the question's; NaN where a key has none."""
        rows = np.array([self._row_of.get(k, -1) for k in keys], np.int64)
        found = rows >= 0
        out = np.full(len(keys), np.nan)
        if found.any():
            out[found] = self._matrix[rows[found]] @ question
        return out

    def nearest(self, question: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """The ``limit`` keys most similar to the question, best first (none past SCAN_MAX)."""
        if not self._row_of or limit <= 0 or len(self._keys) > SCAN_MAX:
            return []
        sims = self._matrix @ question
        sims[self._keys < 0] = -np.inf
        limit = min(limit, len(self._row_of))
        top = np.argpartition(-sims, limit - 1)[:limit]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(self._keys[i]), float(sims[i])) for i in top]


def _units(rows: list[tuple[int, bytes, float]]) -> np.ndarray:
    """The stored int8 rows as float32 unit vectors."""
    codes = np.frombuffer(b"".join(c for _, c, _ in rows), np.int8).reshape(len(rows), -1)
    matrix = codes.astype(np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
