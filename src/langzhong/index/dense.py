"""The dense index: every article's vector in memory, searched exactly.

Loaded from the store's vector table (``store/vectors.py``) and kept in step with it by reading
only what changed since the last look, before each search. The matrix is float32 unit rows, so
a question's cosine against all of them is one BLAS product: about 0.4 ms at 7k documents and
12 ms at 100k on one core (docs/engine.md). Past ``SCAN_MAX`` documents the full scan is left
out and only the lexical candidates get a dense score.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from langzhong.store.vectors import VectorTable

SCAN_MAX = 200_000  # documents a full scan may cover (12 ms per 100k on one core)


@dataclass(frozen=True)
class _View:
    """What one search reads: replaced whole when rows are added, so a search that runs while
    another thread refreshes never pairs keys with a matrix of another length."""

    keys: np.ndarray  # rowid of each matrix row; -1 marks a removed one
    matrix: np.ndarray  # float32 unit rows
    row_of: dict[int, int]


class DenseIndex:
    def __init__(self, table: VectorTable, dim: int) -> None:
        self.table, self.dim = table, dim
        self._seq = 0
        self._view = _View(np.zeros(0, np.int64), np.zeros((0, dim), np.float32), {})
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._view.row_of)

    def refresh(self) -> None:
        """Take in the vectors written and removed since the last look (one query when none)."""
        with self._lock:
            seq, written, removed = self.table.changed_since(self._seq)
            if seq == self._seq:
                return
            view = self._view
            # A vector still stored was written after any removal of its article: removals
            # first, then the writes. Both change rows in place; new rows make a new view.
            for rowid in removed:
                if (row := view.row_of.pop(rowid, None)) is not None:
                    view.keys[row] = -1
            known = [item for item in written if item[0] in view.row_of]
            if known:
                view.matrix[[view.row_of[rowid] for rowid, _, _ in known]] = _units(known)
            if new := [item for item in written if item[0] not in view.row_of]:
                start = len(view.keys)
                added = {rowid: start + i for i, (rowid, _, _) in enumerate(new)}
                self._view = _View(
                    np.concatenate([view.keys, [rowid for rowid, _, _ in new]]),
                    np.concatenate([view.matrix, _units(new)]),
                    {**view.row_of, **added},
                )
            self._seq = seq

    def similarities(self, question: np.ndarray, keys: list[int]) -> np.ndarray:
        """Cosine of each key's vector with the question's; NaN where a key has none."""
        view = self._view
        rows = np.array([view.row_of.get(k, -1) for k in keys], np.int64)
        found = rows >= 0
        out = np.full(len(keys), np.nan)
        if found.any():
            out[found] = view.matrix[rows[found]] @ question
        return out

    def nearest(self, question: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """The ``limit`` keys most similar to the question, best first (none past SCAN_MAX)."""
        view = self._view
        if not view.row_of or limit <= 0 or len(view.keys) > SCAN_MAX:
            return []
        sims = view.matrix @ question
        sims[view.keys < 0] = -np.inf
        limit = min(limit, len(view.row_of))
        top = np.argpartition(-sims, limit - 1)[:limit]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(view.keys[i]), float(sims[i])) for i in top]


def _units(rows: list[tuple[int, bytes, float]]) -> np.ndarray:
    """The stored int8 rows as float32 unit vectors."""
    codes = np.frombuffer(b"".join(c for _, c, _ in rows), np.int8).reshape(len(rows), -1)
    matrix = codes.astype(np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
