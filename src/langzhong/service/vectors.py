"""Embedding: the articles' e5 vectors, given now (on this machine's cores or a Ray cluster's)
or, in a server, by a thread of their own; and how many articles have theirs."""

from __future__ import annotations

from collections.abc import Callable

from langzhong.embed.base import Embedder, EmbedderUnavailable
from langzhong.embed.ray_cluster import TEXTS_PER_CALL, RayEmbedder
from langzhong.embed.vectors import shipped_vectors
from langzhong.index import LexicalIndex
from langzhong.index.embedding import BATCH, BackgroundEmbedding, Embedding
from langzhong.ingest.indexer import Indexer
from langzhong.store import ArticleStore
from langzhong.store.vectors import VectorTable


class Vectors:
    def __init__(
        self,
        store: ArticleStore,
        index: LexicalIndex,
        indexer: Indexer,
        embedder: Embedder | None,
        dense_state: str,
        known_vectors: bool = True,
    ) -> None:
        """``known_vectors=False``: every article is embedded anew, none taken from the
        package's demo vectors (the evaluation's content ingested after install)."""
        self.store, self.index, self.indexer = store, index, indexer
        self.embedder, self.dense_state = embedder, dense_state
        self.known_vectors = known_vectors
        self._job: Embedding | None = None
        self._background: BackgroundEmbedding | None = None

    def job(self) -> Embedding:
        """The job that gives articles their e5 vectors (EmbedderUnavailable when dense is off)."""
        if self.embedder is None:
            raise EmbedderUnavailable(f"dense retrieval is {self.dense_state}")
        if self._job is None:
            known = shipped_vectors(self.embedder.model_hash) if self.known_vectors else None
            table = VectorTable(self.store)
            self._job = Embedding(self.store, table, self.embedder, known)
        return self._job

    def embed(
        self,
        new_limit: int | None = None,
        on_progress: Callable[[int], None] = lambda done: None,
        ray_address: str | None = None,
    ) -> int:
        """Give the articles that lack one their vector (at most ``new_limit`` embedded anew,
        the rest found among the known vectors); returns how many got one. ``ray_address``:
        the new ones are embedded by the Ray cluster there (``embed/ray_cluster.py``)."""
        job = self.job()
        if ray_address is None or not self.counts()["pending"]:
            made = job.catch_up(new_limit, on_progress)
        else:
            cluster = RayEmbedder(ray_address, job.embedder.model_hash)
            try:
                batch = max(BATCH, 2 * TEXTS_PER_CALL * cluster.actors)  # every actor kept busy
                on_cluster = Embedding(
                    job.store, job.table, cluster, job.known, threads=1, batch=batch
                )
                made = on_cluster.catch_up(new_limit, on_progress)
            finally:
                cluster.close()
        if made and self.index.holds_vectors:  # the vectors go to the index with their articles
            self.indexer.catch_up()
        return made

    def embed_now(self, rowids: list[int]) -> None:
        """These just-written articles' vectors, before the call returns (dense off: none)."""
        if self.embedder is not None:
            self.job().embed_now(rowids)

    def prune(self) -> None:
        """Forget the vectors of articles no longer stored."""
        if self.embedder is not None:
            self.job().table.prune()

    def counts(self) -> dict[str, int]:
        """Articles with a vector of their current content, and those waiting for one."""
        return VectorTable.counts(self.store)

    def embed_in_background(self) -> None:
        """From now on, articles written through this service get their vectors from a thread
        of their own, which also takes any others pending (another server's writes): a server's
        writes return as soon as they are searchable by their words."""
        if self.embedder is not None and self._background is None:
            self._background = BackgroundEmbedding(self.job, self.store.writer_lock("embedding"))
            self._background.start()

    @property
    def in_background(self) -> bool:
        """Whether new articles get their vectors from the background thread."""
        return self._background is not None

    def wake(self) -> None:
        """Tell the background thread that new articles wait for their vectors."""
        if self._background is not None:
            self._background.wake()

    def stop(self) -> None:
        if self._background is not None:
            self._background.stop()
