"""Writing and ingesting: files, streams of articles, the operators' API writes, an import, the
demo corpus. Every write is stored, then indexed, then embedded; nothing stored waits on the
index or on e5."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from importlib import resources
from pathlib import Path

from langzhong.backup import CarriedVectors
from langzhong.config import Settings
from langzhong.core import Article
from langzhong.index import IndexUnavailable
from langzhong.ingest.indexer import Indexer
from langzhong.ingest.sources import Rejection, read_jsonl
from langzhong.ingest.writer import IngestReport, Outcome, Writer, ingest_paths
from langzhong.service.vectors import Vectors
from langzhong.store import ArticleStore

log = logging.getLogger(__name__)
DEMO_FILES = ("000_11c99a0e30aa1c9d.txt", "medical-dialogue-im.jsonl.gz")
BACKUP_MAX_BYTES = 64 << 30  # a backup is one file of the whole store: no per-page limit


class SameContent(Exception):
    """The article's exact content is already stored under another id (``args[0]``)."""


@contextmanager
def demo_paths() -> Iterator[list[Path]]:
    """The bundled demo corpus: the seed page and real questions with doctor answers."""
    demo = resources.files("langzhong.demo")
    with ExitStack() as stack:
        yield [stack.enter_context(resources.as_file(demo.joinpath(n))) for n in DEMO_FILES]


class Writing:
    def __init__(
        self,
        settings: Settings,
        store: ArticleStore,
        writer: Writer,
        indexer: Indexer,
        vectors: Vectors,
    ) -> None:
        self.settings, self.store, self.writer = settings, store, writer
        self.indexer, self.vectors = indexer, vectors
        # Hears (done, of) while a write's new articles get their vectors (the CLI's progress bar).
        self.on_embedding: Callable[[int, int], None] = lambda done, of: None

    # -- demo corpus ---------------------------------------------------------------------------

    def needs_demo(self) -> bool:
        """True for a store that was never filled (or whose demo load was interrupted)."""
        state = self.store.meta("demo")
        return state == "loading" or (state is None and self.store.is_empty())

    def operator_writes(self) -> None:
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

    # -- many articles -------------------------------------------------------------------------

    def ingest(
        self,
        paths: list[Path],
        *,
        source: str | None = None,
        on_file: Callable[[Path | None], None] = lambda path: None,
        on_rejection: Callable[[Rejection], None] = lambda rejection: None,
    ) -> IngestReport:
        self.operator_writes()
        with self.indexing() as after_batch:
            return ingest_paths(
                self.writer,
                paths,
                max_bytes=self.settings.max_file_mb << 20,
                source=source,
                on_file=on_file,
                on_rejection=on_rejection,
                after_batch=after_batch,
            )

    def ingest_archive(self, paths: list[Path]) -> IngestReport:
        """Extract the articles of archived crawl responses again (after a parser change)."""
        from langzhong.crawl.archive import archived_articles

        return self.write_articles(archived_articles(paths or [self.settings.archive_path]))

    def write_articles(
        self,
        articles: Iterable[Article | Rejection],
        dedupe: bool = True,
        after_batch: Callable[[], None] = lambda: None,
        embed: bool = True,
    ) -> IngestReport:
        """Store a stream of articles and index them (``dedupe=False``: every one under its id;
        ``after_batch`` runs after each committed batch; ``embed=False``: their vectors are left
        for later, as the benchmark gives its own)."""
        self.operator_writes()
        report = IngestReport()
        with self.indexing(embed=embed) as keep_up:

            def batch_done() -> None:
                after_batch()
                keep_up()

            self.writer.write_all(articles, report, dedupe=dedupe, after_batch=batch_done)
        return report

    def restore(self, path: Path) -> tuple[IngestReport, CarriedVectors]:
        """Load an export: every article under its own id, nothing merged, with its vector
        where this installation's weights made it (``backup.py``)."""
        vectors = CarriedVectors(self.vectors.job() if self.vectors.embedder else None)
        lines = read_jsonl(path, max_bytes=BACKUP_MAX_BYTES, on_record=vectors.read)
        return self.write_articles(lines, dedupe=False, after_batch=vectors.store), vectors

    @contextmanager
    def indexing(
        self, on_phase: Callable[[str], None] = lambda phase: None, embed: bool = True
    ) -> Iterator[Callable[[], None]]:
        """Around a long write: the index keeps up batch by batch and catches up at the end;
        then every article still without its vector gets it (``on_embedding`` hears the
        progress; an interrupted run leaves the rest pending, for the next write, a server's
        background embedding or ``langzhong embed``). ``on_phase`` hears when each of those last
        two steps begins."""
        try:
            yield self.indexer.keep_up
        except BaseException:
            self.indexer.close()  # interrupted: what was stored is logged; the next open indexes it
            raise
        on_phase("indexing")
        self.indexer.catch_up()
        vectors = self.vectors
        if embed and vectors.embedder is not None and (pending := vectors.counts()["pending"]):
            on_phase("embedding")
            vectors.embed(on_progress=lambda done: self.on_embedding(done, pending))

    # -- one article (the operators' API) ------------------------------------------------------

    def put_article(self, article: Article, keep_id: bool = False) -> tuple[Outcome, str]:
        """Add or replace one article; returns the outcome and stored id.

        ``keep_id`` (PUT to an id): stored under its own id, never merged into a similar page;
        SameContent when exactly this content is already stored under another id.
        """
        self.operator_writes()
        with self.store.transaction():
            if keep_id and (other := self.writer.stored_elsewhere(article)):
                raise SameContent(other)
            outcome = self.writer.write(article, dedupe=not keep_id)
            stored = self.store.lookup(outcome[1])
            assert stored is not None  # written just above, in this transaction
        if outcome[0] != "duplicate":
            if self.vectors.in_background:
                self._index_now(stored.rowid)  # searchable by its words when the call returns…
                self.vectors.wake()  # …and by its meaning a moment later
            else:  # the vector first, so that an index holding vectors takes it with the article
                self.vectors.embed_now([stored.rowid])
                self._index_now(stored.rowid)
        return outcome

    def delete_article(self, article_id: str) -> bool:
        with self.store.transaction():
            rowid = self.writer.delete(article_id)
        if rowid is not None:
            self._index_now(rowid)
            self.vectors.prune()
        return rowid is not None

    def _index_now(self, rowid: int) -> None:
        """After a committed write: index it now, or, with the index down, leave it logged for
        the first search after the index is back (``Asking._search``)."""
        try:
            self.indexer.index_now([rowid])
        except IndexUnavailable as error:
            log.warning("stored, to be indexed when the index is back: %s", error)
