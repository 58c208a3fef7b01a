"""The one place the stages are wired together; the CLI, the web site, the evaluation and the
benchmark all go through it."""

from __future__ import annotations

from collections.abc import Callable

from langzhong.config import Settings
from langzhong.embed.base import Embedder, EmbedderUnavailable
from langzhong.index import Fts5Index, LexicalIndex, TantivyIndex
from langzhong.index.dense import DenseIndex, VectorsInIndex
from langzhong.ingest.indexer import Indexer
from langzhong.ingest.writer import Writer
from langzhong.search import Searcher
from langzhong.search.dense import DenseSearch
from langzhong.service.admin import Administration
from langzhong.service.asking import Asking
from langzhong.service.crawling import Crawling
from langzhong.service.shipped import shipped_confidence, shipped_reranker
from langzhong.service.vectors import Vectors
from langzhong.service.writing import Writing
from langzhong.store import ArticleStore, StoreError, open_store
from langzhong.store.rate_limits import SharedBuckets
from langzhong.store.shape import check_shape
from langzhong.store.vectors import VectorTable
from langzhong.text import Analyzer, default_analyzer
from langzhong.triage.department import shipped_model as shipped_department_model


class Service:
    """The stages of one process, wired once. What callers do goes through its facades:
    ``asking`` (the answer page, articles, entities, readers' feedback), ``writing`` (ingest,
    the API's writes, import, the demo corpus), ``crawling``, ``vectors`` (e5 vectors) and
    ``admin`` (stats, health, export)."""

    def __init__(
        self, settings: Settings, reshape: bool = False, known_vectors: bool = True
    ) -> None:
        """``reshape``: this server's index shape becomes the shared store's (``check_shape``);
        ``known_vectors=False``: every article is embedded anew, none taken from the package's
        demo vectors (the evaluation's content ingested after install)."""
        self.settings = settings
        self.store = open_store(settings)
        try:
            check_shape(self.store, settings, reshape)
        except StoreError:
            self.store.close()
            raise
        self.index = open_index(settings, self.store)
        self.analyzer = default_analyzer()
        self.writer = Writer(self.store)
        self.indexer = Indexer(self.store, self.index, self.analyzer)
        self.embedder, self.dense_state = dense_embedder(settings)
        self.searcher = _searcher(self.store, self.index, self.analyzer, self.embedder, settings)
        self._buckets: SharedBuckets | None = None
        self.vectors = Vectors(
            self.store, self.index, self.indexer, self.embedder, self.dense_state, known_vectors
        )
        self.writing = Writing(settings, self.store, self.writer, self.indexer, self.vectors)
        self.crawling = Crawling(settings, self.store, self.writer, self.indexer, self.writing)
        self.asking = Asking(
            self.store, self.index, self.indexer, self.searcher, self.analyzer, self.embedder
        )
        self.admin = Administration(self)

    def catch_up(self, on_progress: Callable[[int], None] = lambda applied: None) -> int:
        """Index what the store holds and the index lacks (after a crash, or another process's
        writes while this one held the index); returns how many changes were applied."""
        return self.indexer.catch_up(on_progress)

    def rate_limit(self) -> SharedBuckets | None:
        """Searches per client a minute, counted with every other worker and server (None:
        no limit)."""
        if self._buckets is None and self.settings.rate_limit_per_minute > 0:
            self._buckets = SharedBuckets(self.store, self.settings.rate_limit_per_minute)
        return self._buckets

    def close(self) -> None:
        self.vectors.stop()
        self.indexer.close()
        self.index.close()
        if self._buckets is not None:
            self._buckets.close()
        self.store.close()


def open_index(settings: Settings, store: ArticleStore) -> LexicalIndex:
    if settings.engine == "fts5":
        return Fts5Index(settings.db_path)
    if settings.engine == "milvus":
        from langzhong.index.milvus_index import MilvusIndex

        assert settings.milvus_uri  # Settings.load refuses milvus without one
        return MilvusIndex(
            settings.milvus_uri,
            settings.milvus_collection,
            store,
            settings.milvus_timeout_s,
            token=settings.milvus_token,
        )
    return TantivyIndex(settings.index_path)


def dense_embedder(settings: Settings) -> tuple[Embedder | None, str]:
    """The e5 model for search, or None and why not (turned off, or the extra is missing)."""
    if not settings.dense:
        return None, "off (LANGZHONG_DENSE=off)"
    from langzhong.embed.e5_onnx import LazyE5

    try:
        return LazyE5(), "on"
    except EmbedderUnavailable as error:
        return None, f"off: {error}"


def _searcher(
    store: ArticleStore,
    index: LexicalIndex,
    analyzer: Analyzer,
    embedder: Embedder | None,
    settings: Settings,
) -> Searcher:
    """The searcher with the models the package ships, e5 beside the words where it is on."""
    dense = None
    if embedder is not None:
        vectors: DenseIndex | VectorsInIndex
        if index.holds_vectors:  # Milvus: nothing of the vectors in this process
            vectors = VectorsInIndex(VectorTable(store))
        else:
            vectors = DenseIndex(VectorTable(store), embedder.dim, settings.graphs_path)
        dense = DenseSearch(embedder, vectors)
    departments = shipped_department_model()
    return Searcher(
        store,
        index,
        analyzer,
        shipped_reranker(),
        shipped_confidence(),
        dense=dense,
        dense_confidence=shipped_confidence(dense=True) if dense else None,
        department_lift=departments.lift if departments else None,
    )
