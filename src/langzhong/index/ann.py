"""The approximate nearest-neighbour graph over the dense vectors (HNSW, usearch, int8), for
corpora where the exact scan costs too much (docs/engine.md).

It only proposes candidates: the dense index scores them exactly from its own matrix and drops
any it no longer holds, so a graph a few changes behind is never wrong, only less complete.
Graphs are files named by the vector table's sequence number they hold everything up to
(``<seq>.usearch`` in one folder): a process loads the newest and applies the changes logged
after it; the first process to need one when none is there builds it (under a file lock, so the
workers of one server build it once) and saves it for the others.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from langzhong.store.locks import FileLock

# usearch's HNSW settings. The search width trades speed for recall: on the real answers'
# vectors, recall@50 against the exact scan was 0.975 / 0.983 / 0.992 at 64 / 128 / 256, for
# 0.6 ms a search at 100k (docs/engine.md).
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 256
# A loaded graph that lacks more than this share of the current vectors is rebuilt instead.
STALE_SHARE = 0.2
# A graph's first nodes are inserted one thread at a time: inserted concurrently into an empty
# graph they were sometimes left badly linked (1 build in 10 on a busy machine missed the exact
# best of 300 vectors); past this many, threads only speed the build up.
SEED_NODES = 1024


class AnnGraph:
    def __init__(self, dim: int, seq: int = 0) -> None:
        from usearch.index import Index

        self.seq = seq  # the vector table's sequence number the saved file held
        self._index = Index(
            ndim=dim,
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )

    def __len__(self) -> int:
        return len(self._index)

    def upsert(self, keys: np.ndarray, vectors: np.ndarray, threads: int = 1) -> None:
        """Add these keys' vectors, replacing any they had."""
        keys = np.asarray(keys, np.uint64)
        if len(self._index):  # a first build has nothing to replace
            self.remove(keys.tolist())
        vectors = np.ascontiguousarray(vectors, np.float32)
        seed = max(SEED_NODES - len(self._index), 0)
        if len(keys[:seed]):
            self._index.add(keys[:seed], vectors[:seed], threads=1)
        if len(keys[seed:]):
            self._index.add(keys[seed:], vectors[seed:], threads=threads)

    def remove(self, keys: list[int]) -> None:
        present = [k for k in keys if k in self._index]
        if present:
            self._index.remove(present)

    def nearest(self, question: np.ndarray, limit: int) -> list[int]:
        """Keys of about the ``limit`` most similar vectors, best first."""
        if not len(self._index):
            return []
        found = self._index.search(question.astype(np.float32), limit, threads=1)
        return found.keys.tolist()

    def save(self, folder: Path, seq: int) -> None:
        """Written whole under a temporary name, then renamed: a reader never sees a part.
        Older files are removed."""
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{seq}.{os.getpid()}.part"
        self._index.save(str(partial))
        partial.replace(folder / f"{seq}.usearch")
        self.seq = seq
        for older in folder.glob("*.usearch"):
            if older.stem.isdigit() and int(older.stem) < seq:
                older.unlink(missing_ok=True)

    @classmethod
    def newest(cls, folder: Path, dim: int) -> AnnGraph | None:
        """The newest saved graph in ``folder``, or None."""
        saved = sorted(
            (int(p.stem) for p in folder.glob("*.usearch") if p.stem.isdigit()), reverse=True
        )
        for seq in saved:
            graph = cls(dim, seq)
            try:
                graph._index.load(str(folder / f"{seq}.usearch"))
            except (OSError, RuntimeError, ValueError):  # removed meanwhile, or cut short
                continue
            return graph
        return None


def available() -> bool:
    """Whether usearch is installed (langzhong installs it); without it, exact scans."""
    return importlib.util.find_spec("usearch") is not None


def build_lock(folder: Path) -> FileLock:
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / "build.lock")
