"""The dense index: every article's vector in memory, searched exactly or through a graph.

Loaded from the store's vector table (``store/vectors.py``) and kept in step with it by reading
only what changed since the last look, before each search. The matrix is float32 unit rows, so
a question's cosine against all of them is one BLAS product: about 0.4 ms at 7k documents and
5 ms at 100k on one core (docs/engine.md). From ``GRAPH_MIN`` documents the nearest ones are
proposed by an HNSW graph (``index/ann.py``) and scored from the matrix; without a graph, past
``SCAN_MAX`` documents only the lexical candidates get a dense score.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from langzhong.index.ann import STALE_SHARE, AnnGraph, available, build_lock
from langzhong.store.vectors import VectorTable

SCAN_MAX = 200_000  # documents a full scan may cover (5 ms per 100k on one core)
GRAPH_MIN = 50_000  # documents from which the graph proposes the nearest (the scan: 2.5 ms)
# The graph proposes this many times the documents asked for, ranked again by the exact cosine:
# its int8 distances misorder near ties.
PROPOSED_PER_RESULT = 2


@dataclass(frozen=True)
class _View:
    """What one search reads: replaced whole when rows are added, so a search that runs while
    another thread refreshes never pairs keys with a matrix of another length."""

    keys: np.ndarray  # rowid of each matrix row; -1 marks a removed one
    matrix: np.ndarray  # float32 unit rows
    row_of: dict[int, int]


class DenseIndex:
    def __init__(
        self,
        table: VectorTable,
        dim: int,
        graphs: Path | None = None,
        graph_min: int = GRAPH_MIN,
    ) -> None:
        """``graphs``: the folder of saved HNSW graphs (None: exact scans only); ``graph_min``:
        documents from which a graph is used."""
        self.table, self.dim = table, dim
        self.graphs = graphs if available() else None
        self.graph_min = graph_min
        self._seq = 0
        self._view = _View(np.zeros(0, np.int64), np.zeros((0, dim), np.float32), {})
        self._graph: AnnGraph | None = None
        self._lock = threading.Lock()
        self._graph_lock = threading.Lock()  # usearch's search and add are not run together

    def __len__(self) -> int:
        return len(self._view.row_of)

    def method(self, documents: int) -> str:
        """How the nearest among ``documents`` vectors are found: "graph" (proposed by the HNSW
        graph, scored exactly) or "exact scan"."""
        return "graph" if self.graphs and documents >= self.graph_min else "exact scan"

    def refresh(self) -> None:
        """Take in the vectors written and removed since the last look (one query when none)."""
        with self._lock:
            seq, written, removed = self.table.changed_since(self._seq)
            if seq != self._seq:
                self._take(seq, written, removed)
            if self._graph is None and self.graphs and self.method(len(self)) == "graph":
                self._graph = self._open_graph(self.graphs)

    def _take(self, seq: int, written: list, removed: list[int]) -> None:
        """The changes into the matrix (and the graph, when there is one)."""
        view = self._view
        # A vector still stored was written after any removal of its article: removals
        # first, then the writes. Both change rows in place; new rows make a new view.
        for rowid in removed:
            if (row := view.row_of.pop(rowid, None)) is not None:
                view.keys[row] = -1
        keys = np.array([rowid for rowid, _, _ in written], np.int64)
        units = _units(written, self.dim)
        known = np.array([k in view.row_of for k in keys.tolist()], bool)
        if known.any():
            view.matrix[[view.row_of[k] for k in keys[known].tolist()]] = units[known]
        if (~known).any():
            start = len(view.keys)
            added = {k: start + i for i, k in enumerate(keys[~known].tolist())}
            self._view = _View(
                np.concatenate([view.keys, keys[~known]]),
                np.concatenate([view.matrix, units[~known]]),
                {**view.row_of, **added},
            )
        self._seq = seq
        if self._graph is not None:
            self._to_graph(self._graph, keys, units, removed)

    def _to_graph(
        self, graph: AnnGraph, keys: np.ndarray, units: np.ndarray, removed: list[int]
    ) -> None:
        with self._graph_lock:
            graph.remove(removed)
            graph.upsert(keys, units)

    def _open_graph(self, folder: Path) -> AnnGraph:
        """The newest saved graph with the changes logged after it, or, when there is none or
        it lacks too much, one built from the matrix on every core and saved. Another process
        building one is waited for, and its graph loaded."""
        lock = build_lock(folder)
        while not lock.acquire():
            time.sleep(0.2)
        try:
            graph = AnnGraph.newest(folder, self.dim)
            if graph is not None:
                _, written, removed = self.table.changed_since(graph.seq)
                # A size far from the store's also says the file is of another store's state.
                apart = len(written) + len(removed) + abs(len(graph) - len(self._view.row_of))
                if apart <= STALE_SHARE * len(self._view.row_of):
                    keys = np.array([rowid for rowid, _, _ in written], np.int64)
                    self._to_graph(graph, keys, _units(written, self.dim), removed)
                    return graph
            view = self._view
            live = view.keys >= 0
            graph = AnnGraph(self.dim)
            graph.upsert(view.keys[live], view.matrix[live], threads=os.cpu_count() or 1)
            graph.save(folder, self._seq)
            return graph
        finally:
            lock.release()

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
        """The ``limit`` keys most similar to the question, best first: the graph's proposals
        scored exactly, or a scan (none past SCAN_MAX without a graph)."""
        view, graph = self._view, self._graph
        if not view.row_of or limit <= 0:
            return []
        if graph is not None:
            with self._graph_lock:
                proposed = graph.nearest(question, limit * PROPOSED_PER_RESULT)
            rows = np.array([view.row_of[k] for k in proposed if k in view.row_of], np.int64)
            sims = view.matrix[rows] @ question
            order = np.argsort(-sims, kind="stable")[:limit]
            return [(int(view.keys[rows[i]]), float(sims[i])) for i in order]
        if len(view.keys) > SCAN_MAX:
            return []
        sims = view.matrix @ question
        sims[view.keys < 0] = -np.inf
        limit = min(limit, len(view.row_of))
        top = np.argpartition(-sims, limit - 1)[:limit]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(view.keys[i]), float(sims[i])) for i in top]


class VectorsInIndex:
    """The dense side where the shared index holds the vectors (Milvus searches them with the
    terms, ``LexicalIndex.retrieve``): this process keeps none of them."""

    RECHECK_S = 10.0  # while no article has a vector, how often to look again

    def __init__(self, table: VectorTable) -> None:
        self.table = table
        self._some, self._checked = False, -self.RECHECK_S

    def refresh(self) -> None:
        """Whether any article has a vector yet (once one has, it stays so for search)."""
        if not self._some and time.monotonic() - self._checked > self.RECHECK_S:
            self._some, self._checked = VectorTable.any(self.table.store), time.monotonic()

    def __len__(self) -> int:
        return int(self._some)

    def method(self, documents: int) -> str:
        return "in the shared index (Milvus HNSW)"


def _units(rows: list[tuple[int, bytes, float]], dim: int) -> np.ndarray:
    """The stored int8 rows as float32 unit vectors."""
    if not rows:
        return np.zeros((0, dim), np.float32)
    codes = np.frombuffer(b"".join(c for _, c, _ in rows), np.int8).reshape(len(rows), -1)
    matrix = codes.astype(np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
