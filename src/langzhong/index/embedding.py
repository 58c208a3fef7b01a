"""Giving every stored article its vector: the dense index's replay of the store.

The work is whatever the vector table reports pending (``store/vectors.py``): articles new,
changed since their vector was made, or embedded by other weights. Vectors already known for
the same text (the package's demo vectors) are taken as they are; the rest are embedded, a
batch at a time, on every core, and each batch is committed on its own, so a killed run loses
at most one batch.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from langzhong.core import Article
from langzhong.embed.base import Embedder
from langzhong.embed.vectors import VectorCache
from langzhong.store import ArticleStore
from langzhong.store.locks import WriterLock
from langzhong.store.vectors import VectorTable

log = logging.getLogger(__name__)
BATCH = 64  # articles embedded and committed together
DRAIN_EVERY_S = 10.0  # a server's background embedding looks for others' writes this often
STOP_WAIT_S = 30.0


def article_text(article: Article) -> str:
    """What an article's vector is made from: a page's title, lead and section texts; a
    question/answer's answer alone. The ranking's e5 weights and the confidence model learned
    from answers only (the evaluation's corpus); a patient's question in the document as well
    made every document look nearer to every question (on the demo, 1.76 hits shown for a
    question it cannot answer instead of 1.24), while its words still count through BM25's
    title field. Headings such as 「回答」 say nothing about the topic and are left out."""
    parts = [s.text for s in article.sections]
    if article.kind != "qa":
        parts = [article.title, article.lead, *parts]
    return " ".join(" ".join(p.split()) for p in parts if p and p.strip())


class Embedding:
    def __init__(
        self,
        store: ArticleStore,
        table: VectorTable,
        embedder: Embedder,
        known: VectorCache | None = None,
        threads: int | None = None,
        batch: int = BATCH,
    ) -> None:
        """``threads``: local threads that call ``embedder`` at once (1 for an embedder that
        spreads its own work, such as a Ray cluster's); ``batch``: articles a commit."""
        self.store, self.table, self.embedder, self.known = store, table, embedder, known
        self.threads, self.batch = threads or os.cpu_count() or 1, batch
        table.adopt_model(embedder.model_hash)

    def catch_up(
        self,
        new_limit: int | None = None,
        on_progress: Callable[[int], None] = lambda done: None,
    ) -> int:
        """Give pending articles their vectors: every one found among the known vectors, and at
        most ``new_limit`` embedded anew (None: all). Returns how many got a vector."""
        self.table.prune()
        done, embedded, after = 0, 0, 0
        while rowids := self.table.pending(after, self.batch):
            after = rowids[-1]
            allowed = None if new_limit is None else new_limit - embedded
            got, made = self._store(rowids, allowed)
            done, embedded = done + got, embedded + made
            on_progress(done)
        return done

    def embed_now(self, rowids: list[int]) -> None:
        """These articles' vectors (one API write), whatever else is pending."""
        self._store(rowids, None)

    def _store(self, rowids: list[int], new_limit: int | None) -> tuple[int, int]:
        """(stored, embedded anew) for these articles."""
        # Hashes before texts: a text changed in between is stored under its old hash, which
        # ``put`` refuses, so the article stays pending.
        hashes = self.store.content_hashes(rowids)
        articles = self.store.get_by_rowids(rowids)
        rows = [(rowid, hashes[rowid]) for rowid in articles if rowid in hashes]
        texts = [article_text(articles[rowid]) for rowid, _ in rows]
        found, vectors = self._known(texts)
        missing = np.flatnonzero(~found)
        if new_limit is not None:
            missing = missing[: max(new_limit, 0)]
        if len(missing):
            vectors[missing] = self._embed([texts[i] for i in missing])
        keep = found.copy()
        keep[missing] = True
        if keep.any():
            self.table.put(
                [row for row, kept in zip(rows, keep, strict=True) if kept], vectors[keep]
            )
        return int(keep.sum()), len(missing)

    def _known(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if self.known is None:
            return np.zeros(len(texts), bool), np.zeros((len(texts), self.embedder.dim), np.float32)
        return self.known.get(texts)

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Embedded on every core (onnxruntime releases the GIL while it computes)."""
        step = max(1, -(-len(texts) // self.threads))
        parts = [texts[i : i + step] for i in range(0, len(texts), step)]
        with ThreadPoolExecutor(len(parts)) as pool:
            return np.concatenate(list(pool.map(self.embedder.embed_passages, parts)))


class BackgroundEmbedding:
    """A server's thread that gives pending articles their vectors: woken by each write, and
    every DRAIN_EVERY_S for what other workers and servers wrote. One process at a time does it
    (``lock``, the store's ``embedding`` writer lock); the others find nothing left."""

    def __init__(self, job: Callable[[], Embedding], lock: WriterLock) -> None:
        self.job, self.lock = job, lock
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedding", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=STOP_WAIT_S)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(DRAIN_EVERY_S)
            self._wake.clear()
            if self._stopping.is_set() or not self.lock.acquire():
                continue
            try:
                self.job().catch_up()
            except Exception:  # a store or index outage: the vectors stay pending, tried again
                log.warning("background embedding failed; retrying later", exc_info=True)
            finally:
                self.lock.release()
