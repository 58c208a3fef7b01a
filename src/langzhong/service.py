"""The one place the stages are wired together; the CLI and the web site both go through it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING

from langzhong.answer.compose import PAGE_SIZE, compose
from langzhong.answer.department import shipped_model as shipped_department_model
from langzhong.config import Settings
from langzhong.core import Answer, Article
from langzhong.data import load_shipped
from langzhong.embed.base import Embedder, EmbedderUnavailable
from langzhong.embed.ray_cluster import TEXTS_PER_CALL, RayEmbedder
from langzhong.embed.vectors import shipped_vectors
from langzhong.index import Fts5Index, IndexUnavailable, LexicalIndex, TantivyIndex
from langzhong.index.dense import DenseIndex
from langzhong.index.embedding import BATCH, Embedding
from langzhong.ingest.indexer import Indexer
from langzhong.ingest.sources import Rejection, read_jsonl
from langzhong.ingest.writer import IngestReport, Outcome, Writer, ingest_paths
from langzhong.knowledge import Entity, shipped_graph
from langzhong.knowledge.cards import mentioned
from langzhong.search import Searcher
from langzhong.search.confidence import ConfidenceModel
from langzhong.search.dense import DenseSearch
from langzhong.search.rerank import TranslationReranker
from langzhong.search.searcher import Results
from langzhong.search.translation import TranslationModel
from langzhong.store import ArticleStore, StoreError, open_store
from langzhong.store.crawl_state import CrawlState
from langzhong.store.vectors import VectorTable

if TYPE_CHECKING:  # the crawl stage is imported when a crawl runs, not by every server worker
    from langzhong.crawl.crawler import CrawlOptions, CrawlReport
from langzhong.text import default_analyzer

log = logging.getLogger(__name__)
DEMO_FILES = ("000_11c99a0e30aa1c9d.txt", "medical-dialogue-im.jsonl.gz")
MENTION_CHARS = 400  # of an article's lead, searched for the entities it names
INDEX_EVERY_S = 30.0  # during a crawl, what was stored becomes searchable at least this often
BACKUP_MAX_BYTES = 64 << 30  # a backup is one file of the whole store: no per-page limit
# Both built by `langzhong train` (see docs/ranking.md).
RERANKER_FILE = "translation.npz"
CONFIDENCE_FILE = "confidence.npz"
DENSE_CONFIDENCE_FILE = "confidence-dense.npz"  # reads the e5 cosines too
# After a write, pending vectors are made there and then only when so few wait (the demo's
# are all known); a bigger backlog is `langzhong embed`'s work.
INLINE_PENDING_MAX = 20_000
INLINE_NEW_MAX = 200  # texts not among the known vectors embedded after a write (~5 s)


def shipped_reranker() -> TranslationReranker | None:
    """The reranker trained on the train split of the demo dataset, when the package has one."""
    model = load_shipped(RERANKER_FILE, TranslationModel.load)
    return TranslationReranker(model) if model else None


def shipped_confidence(dense: bool = False) -> ConfidenceModel | None:
    """The per-hit confidence model trained with the shipped reranker, when the package has one
    (``dense``: the one that reads e5 cosines)."""
    return load_shipped(DENSE_CONFIDENCE_FILE if dense else CONFIDENCE_FILE, ConfidenceModel.load)


def dense_embedder(settings: Settings) -> tuple[Embedder | None, str]:
    """The e5 model for search, or None and why not (turned off, or the extra is missing)."""
    if not settings.dense:
        return None, "off (LANGZHONG_DENSE=off)"
    from langzhong.embed.e5_onnx import LazyE5

    try:
        return LazyE5(), "on"
    except EmbedderUnavailable as error:
        return None, f"off: {error}"


@contextmanager
def demo_paths() -> Iterator[list[Path]]:
    """The bundled demo corpus: the seed page and real questions with doctor answers."""
    demo = resources.files("langzhong.demo")
    with ExitStack() as stack:
        yield [stack.enter_context(resources.as_file(demo.joinpath(n))) for n in DEMO_FILES]


def open_index(settings: Settings, store: ArticleStore) -> LexicalIndex:
    if settings.engine == "fts5":
        return Fts5Index(settings.db_path)
    if settings.engine == "milvus":
        from langzhong.index.milvus_index import MilvusIndex

        lock = store.writer_lock(f"milvus-{settings.milvus_collection}")
        timeout_s = settings.milvus_timeout_s
        return MilvusIndex(settings.milvus_uri, settings.milvus_collection, lock, timeout_s)
    return TantivyIndex(settings.index_path)


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = open_store(settings)
        self.index = open_index(settings, self.store)
        self.analyzer = default_analyzer()
        self.writer = Writer(self.store)
        self.indexer = Indexer(self.store, self.index, self.analyzer)
        self.embedder, self.dense_state = dense_embedder(settings)
        self._embedding: Embedding | None = None
        dense = None
        if self.embedder is not None:
            index = DenseIndex(VectorTable(self.store), self.embedder.dim, settings.graphs_path)
            dense = DenseSearch(self.embedder, index)
        departments = shipped_department_model()
        self.searcher = Searcher(
            self.store,
            self.index,
            self.analyzer,
            shipped_reranker(),
            shipped_confidence(),
            dense=dense,
            dense_confidence=shipped_confidence(dense=True) if dense else None,
            department_lift=departments.lift if departments else None,
        )

    def catch_up(self, on_progress: Callable[[int], None] = lambda applied: None) -> int:
        """Index what the store holds and the index lacks (after a crash, or another process's
        writes while this one held the index); returns how many changes were applied."""
        return self.indexer.catch_up(on_progress)

    def close(self) -> None:
        self.indexer.close()
        self.index.close()
        self.store.close()

    # -- demo corpus ---------------------------------------------------------------------------

    def needs_demo(self) -> bool:
        """True for a store that was never filled (or whose demo load was interrupted)."""
        state = self.store.meta("demo")
        return state == "loading" or (state is None and self.store.is_empty())

    def _operator_writes(self) -> None:
        """An operator writes to this home: it never gets the demo corpus, even if nothing they
        wrote could be stored."""
        if self.store.meta("demo") is None:
            self.store.set_meta("demo", "declined", replace=False)

    def load_demo(self, on_file: Callable[[Path | None], None] = lambda path: None) -> IngestReport:
        self.store.set_meta("demo", "loading")
        with demo_paths() as paths:
            report = self.ingest(paths, on_file=on_file)
        self.store.set_meta("demo", "loaded")
        return report

    # -- the stages ----------------------------------------------------------------------------

    def ingest(
        self,
        paths: list[Path],
        *,
        source: str | None = None,
        on_file: Callable[[Path | None], None] = lambda path: None,
        on_rejection: Callable[[Rejection], None] = lambda rejection: None,
    ) -> IngestReport:
        self._operator_writes()
        with self._indexing() as after_batch:
            return ingest_paths(
                self.writer,
                paths,
                max_bytes=self.settings.max_file_mb << 20,
                source=source,
                on_file=on_file,
                on_rejection=on_rejection,
                after_batch=after_batch,
            )

    def crawl(
        self,
        seeds: list[str],
        options: CrawlOptions,
        on_visit: Callable[[CrawlReport], None] = lambda report: None,
    ) -> CrawlReport:
        """Fetch pages from the seeds (and the sites' sitemaps and feeds) and store their
        articles; the crawl's state stays in the store, so the next call resumes it."""
        from langzhong.crawl.archive import Archive
        from langzhong.crawl.crawler import Crawler

        self._operator_writes()
        indexed = time.monotonic()

        def after_visit(report: CrawlReport) -> None:
            nonlocal indexed
            if time.monotonic() - indexed > INDEX_EVERY_S:
                self.indexer.catch_up()
                indexed = time.monotonic()
            on_visit(report)

        state = CrawlState(self.store)
        crawler = Crawler(
            state, self.writer, Archive(self.settings.archive_path), options, after_visit
        )
        with self._indexing():
            try:
                return crawler.run(seeds)
            finally:
                crawler.close()

    def crawl_counts(self) -> dict[str, int]:
        """Addresses the crawler knows, by state (queued, done, gone, …)."""
        return CrawlState.counts(self.store)

    def ingest_archive(self, paths: list[Path]) -> IngestReport:
        """Extract the articles of archived crawl responses again (after a parser change)."""
        from langzhong.crawl.archive import archived_articles

        return self.write_articles(archived_articles(paths or [self.settings.archive_path]))

    def write_articles(
        self, articles: Iterable[Article | Rejection], dedupe: bool = True
    ) -> IngestReport:
        """Store a stream of articles and index them (``dedupe=False``: every one under its id)."""
        self._operator_writes()
        report = IngestReport()
        with self._indexing() as after_batch:
            self.writer.write_all(articles, report, dedupe=dedupe, after_batch=after_batch)
        return report

    @contextmanager
    def _indexing(self) -> Iterator[Callable[[], None]]:
        """Around a long write: the index keeps up batch by batch and catches up at the end;
        then the new articles get their vectors, when few enough wait."""
        try:
            yield self.indexer.keep_up
        except BaseException:
            self.indexer.close()  # interrupted: what was stored is logged; the next open indexes it
            raise
        self.indexer.catch_up()
        if self.embedder is not None:
            waiting = self.embedding().table.pending(0, INLINE_PENDING_MAX + 1)
            if len(waiting) <= INLINE_PENDING_MAX:
                self.embed(new_limit=INLINE_NEW_MAX)

    # -- vectors ---------------------------------------------------------------------------------

    def embedding(self) -> Embedding:
        """The job that gives articles their e5 vectors (EmbedderUnavailable when dense is off)."""
        if self.embedder is None:
            raise EmbedderUnavailable(f"dense retrieval is {self.dense_state}")
        if self._embedding is None:
            known = shipped_vectors(self.embedder.model_hash)
            table = VectorTable(self.store)
            self._embedding = Embedding(self.store, table, self.embedder, known)
        return self._embedding

    def embed(
        self,
        new_limit: int | None = None,
        on_progress: Callable[[int], None] = lambda done: None,
        ray_address: str | None = None,
    ) -> int:
        """Give the articles that lack one their vector (at most ``new_limit`` embedded anew,
        the rest found among the known vectors); returns how many got one. ``ray_address``:
        the new ones are embedded by the Ray cluster there (``embed/ray_cluster.py``)."""
        job = self.embedding()
        if ray_address is None or not self.vector_counts()["pending"]:
            return job.catch_up(new_limit, on_progress)
        cluster = RayEmbedder(ray_address, job.embedder.model_hash)
        try:
            batch = max(BATCH, 2 * TEXTS_PER_CALL * cluster.actors)  # every actor kept busy
            on_cluster = Embedding(job.store, job.table, cluster, job.known, threads=1, batch=batch)
            return on_cluster.catch_up(new_limit, on_progress)
        finally:
            cluster.close()

    def warm_up(self) -> None:
        """Load what the first search would otherwise wait for: the e5 model (about 1 s) and
        the dense index."""
        dense = self.searcher.dense
        if dense is not None and dense.ready():
            dense.question("你好")

    def vector_counts(self) -> dict[str, int]:
        """Articles with a vector of their current content, and those waiting for one."""
        return VectorTable.counts(self.store)

    def export(self, lines: IO[str]) -> int:
        """Write every stored article as one JSON line; returns how many."""
        count = 0
        for article in self.store.iter_articles():
            lines.write(article.model_dump_json() + "\n")
            count += 1
        return count

    def restore(self, path: Path) -> IngestReport:
        """Load an export: every article under its own id, nothing merged (see ``export``)."""
        return self.write_articles(read_jsonl(path, max_bytes=BACKUP_MAX_BYTES), dedupe=False)

    def ask(
        self, query: str, page: int = 1, page_size: int = PAGE_SIZE, everything: bool = False
    ) -> Answer:
        """The confident hits for the question (``everything``: the whole ranking, page by page,
        each hit with its confidence)."""
        page = max(page, 1)
        start = (page - 1) * page_size
        results = self._search(query, start=start, count=page_size, confident=not everything)
        return compose(query, results, page=page, everything=everything)

    def _search(
        self, query: str, start: int = 0, count: int = PAGE_SIZE, confident: bool = False
    ) -> Results:
        """The searcher's answer; on a store other servers write to, their changes are applied
        first, so a write through any server is searchable here as soon as it returns."""
        if self.store.shared and self.indexer.behind():
            self.indexer.catch_up()
        return self.searcher.search(query, start=start, count=count, confident=confident)

    def health(self) -> dict[str, str]:
        """Each dependency: "ok", or "down: why"."""
        checks = {}
        try:
            self.store.ping()
            checks["store"] = "ok"
        except StoreError as error:
            checks["store"] = f"down: {error}"
        try:
            self.index.checkpoint()
            checks["index"] = "ok"
        except IndexUnavailable as error:
            checks["index"] = f"down: {error}"
        return checks

    def article(self, article_id: str) -> Article | None:
        return self.store.get(article_id)

    def add_feedback(self, question: str, article_id: str, helpful: bool) -> None:
        """A reader's 「这个回答有帮助吗？」, kept with the hour only (nothing to match with
        logs)."""
        hour = datetime.now(UTC).strftime("%Y-%m-%dT%H:00Z")
        self.store.add_feedback(question, article_id, helpful, hour)

    def feedback(self) -> Iterator[dict[str, str | bool]]:
        """Every stored feedback answer: question, article, helpful, at."""
        return self.store.iter_feedback()

    def related_questions(self, article: Article, count: int = 5) -> list[Article]:
        """The nearest other articles and questions: what a search for this one's title
        ranks first, itself and its namesakes left out."""
        results = self._search(article.title, count=count + 3)
        others = [c.article for c in results.candidates if c.article.title != article.title]
        return others[:count]

    def entity(self, name: str) -> Entity | None:
        """An entity of the knowledge graph, by its name."""
        graph = shipped_graph()
        return graph.entity(name) if graph else None

    def entity_articles(self, entity: Entity, count: int = 8) -> list[Article]:
        """The stored articles that best answer a search for the entity's names."""
        query = " ".join(dict.fromkeys(n for n in entity.names[:3] if not n.isascii()))
        results = self._search(query or entity.name, count=count, confident=True)
        return [c.article for c in results.candidates]

    def mentioned_entities(self, article: Article, count: int = 6) -> list[Entity]:
        """The illnesses and drugs an article's title and lead name, for links to their pages."""
        return mentioned(f"{article.title}\n{article.lead[:MENTION_CHARS]}")[:count]

    def put_article(self, article: Article, keep_id: bool = False) -> tuple[Outcome, str]:
        """Add or replace one article (the operators' API); returns the outcome and stored id.

        ``keep_id`` (PUT to an id): stored under its own id, never merged into a similar page;
        SameContent when exactly this content is already stored under another id.
        """
        self._operator_writes()
        with self.store.transaction():
            if keep_id and (other := self.writer.stored_elsewhere(article)):
                raise SameContent(other)
            outcome = self.writer.write(article, dedupe=not keep_id)
            rowid = self.store.lookup(outcome[1]).rowid
        if outcome[0] != "duplicate":
            self._index_now(rowid)  # searchable when the call returns
            if self.embedder is not None:
                self.embedding().embed_now([rowid])  # ... by its meaning too
        return outcome

    def delete_article(self, article_id: str) -> bool:
        with self.store.transaction():
            rowid = self.writer.delete(article_id)
        if rowid is not None:
            self._index_now(rowid)
            if self.embedder is not None:
                self.embedding().table.prune()
        return rowid is not None

    def _index_now(self, rowid: int) -> None:
        """After a committed write: index it now, or, with the index down, leave it logged for
        the first search after the index is back (``_search``)."""
        try:
            self.indexer.index_now([rowid])
        except IndexUnavailable as error:
            log.warning("stored, to be indexed when the index is back: %s", error)

    def stats(self) -> dict:
        counts = self.store.counts()
        graph = shipped_graph()
        vectors = self.vector_counts()
        dense = self.searcher.dense
        return {
            **counts,
            "knowledge_graph": graph.stats() if graph else None,
            "crawl_addresses": self.crawl_counts(),
            "indexed_documents": self.index.doc_count(),
            "index_engine": self.index.name,
            "index_pending_changes": self.indexer.pending(),
            "dense": self.dense_state,
            "vectors": vectors,
            # how e5's nearest are found at this size (None: dense retrieval is off)
            "vector_search": dense.index.method(vectors["with_vector"]) if dense else None,
            "store": self.store.describe(),
            "db_bytes": self.store.size_bytes(),
            "index_bytes": _folder_bytes(self.settings.index_path),
            "settings": self.settings.describe(),
        }


class SameContent(Exception):
    """The article's exact content is already stored under another id (``args[0]``)."""


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
