"""Keeping the search index in step with the store by replaying the store's change log.

The store logs the rowid of every article it adds, updates or deletes, in the same transaction.
The indexer reads the log from the index's checkpoint, indexes each logged article as it is now
(or deletes it when it is gone) and commits the index with a new checkpoint. The same path runs
after every ingest, after every API write and whenever a process opens the store, so an index
left behind by a crash, or by a process killed between the two commits, catches up.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from langzhong.core import Article
from langzhong.index import IndexBusy, IndexDoc, LexicalIndex
from langzhong.parent_watch import stop_when_orphaned
from langzhong.store import ArticleStore
from langzhong.store.vectors import VectorTable
from langzhong.text import Analyzer, default_analyzer

CHUNK = 5_000  # log entries read, articles loaded and segmented at a time
COMMIT_EVERY = 100_000  # documents between index commits during a long catch-up
KEEP_UP_EVERY = 50_000  # during an ingest, catch up once this many changes wait
PARALLEL_FROM = 2_000  # fewer articles than this are segmented in this process
PARALLEL_BATCH = 250  # articles sent to a segmenting process at once
INDEX_NOW_WAIT_S = 10.0  # how long one write waits for another process to let go of the index
INLINE_BACKLOG = 500  # other pending changes one write applies with its own

log = logging.getLogger(__name__)


def _segment(
    texts: list[tuple[str, str]], analyzer: Analyzer | None = None
) -> list[tuple[list[str], list[str]]]:
    """The title's and the body's terms of each article (in a worker: its own analyzer)."""
    analyzer = analyzer or default_analyzer()
    return [(analyzer.terms(title), analyzer.terms(body)) for title, body in texts]


class Indexer:
    def __init__(
        self,
        store: ArticleStore,
        index: LexicalIndex,
        analyzer: Analyzer,
        workers: int | None = None,
    ) -> None:
        self.store, self.index, self.analyzer = store, index, analyzer
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        # How far the index was last seen to reach: ``behind`` asks the index (a call to a
        # shared one) only once the store's log has moved past it.
        self._reached: int | None = None

    def pending(self) -> int:
        """About how many logged changes the index has not applied yet."""
        start = self._replay_start(rebuild=False)
        if start < 0:  # to be rebuilt: every stored article
            return self.store.counts()["articles"]
        return self.store.last_change() - start

    def behind(self) -> bool:
        """Whether the store has logged changes the index lacks (a read of the store's log
        head, and of the index's checkpoint when the head has moved since it was last seen)."""
        last = self.store.last_change()
        if self._reached is not None and last <= self._reached:
            return False
        _, _, seq = self.index.checkpoint().partition(":")
        self._reached = int(seq) if seq.isdigit() else None
        return self._reached is None or last > self._reached

    def catch_up(self, on_progress: Callable[[int], None] = lambda applied: None) -> int:
        """Apply every change the index lacks and let go of the index; returns how many
        changes were applied (0 when another process is writing the index: it applies them)."""
        applied = 0
        with self._lock:
            try:
                while True:
                    try:
                        applied += self._apply(on_progress)
                    finally:
                        self._stop_writing()
                    # A change logged while we held the index may have found it busy and left
                    # itself to us: look again now that others can take the index.
                    if self.pending() == 0:
                        return applied
            except IndexBusy:
                return applied

    def index_now(self, rowids: list[int], wait_s: float | None = None) -> bool:
        """Index these articles as they are now (one API write) in one commit. A short backlog
        of other changes is applied with them; a long one (another process's bulk ingest) is
        left to the process that logged it, so one write never replays thousands of changes:
        then the log position stays put, and the replay that follows applies these articles
        again, harmlessly. False when another process held the index for all of ``wait_s``
        (default INDEX_NOW_WAIT_S); the change then stays in the log for that process."""
        deadline = time.monotonic() + (INDEX_NOW_WAIT_S if wait_s is None else wait_s)
        with self._lock:
            while True:
                try:
                    self.index.claim()
                    break
                except IndexBusy:
                    if time.monotonic() >= deadline:
                        return False
                    time.sleep(0.05)
            try:
                if self.pending() <= INLINE_BACKLOG:
                    self._apply(lambda applied: None)
                else:
                    self._apply_only(rowids)
            finally:
                self._stop_writing()
        return True

    def keep_up(self) -> None:
        """During a long ingest: catch up once enough changes wait, then let go of the index
        so that API writes meanwhile can index themselves (the segmenting processes stay)."""
        with self._lock:
            if self.pending() >= KEEP_UP_EVERY:
                with contextlib.suppress(IndexBusy):  # the process holding it applies them
                    try:
                        self._apply(lambda applied: None)
                    finally:
                        self.index.release()

    def close(self) -> None:
        with self._lock:
            self._stop_writing()

    # -- inside the lock -------------------------------------------------------------------------

    def _checkpoint(self, seq: int) -> str:
        return f"{self.store.store_id}:{seq}"

    def _replay_start(self, rebuild: bool) -> int:
        """The log position the index has reached, or -1 when it must be rebuilt whole."""
        store_id, _, seq = self.index.checkpoint().partition(":")
        if store_id == self.store.store_id and seq.isdigit():
            position = int(seq)
            if self.store.pruned_through() <= position <= self.store.last_change():
                return position
        if not rebuild:
            return -1
        # New, damaged, older than the log or built from another store: rebuild it whole by
        # logging every article anew and replaying from there; only once when processes open
        # the store together, since claiming raises IndexBusy in all but one.
        self.index.claim()
        if self.store.shared:
            return self._rebuild_quietly()
        with self.store.transaction():
            start = self.store.last_change()
            self.store.relog_all()
        self.index.clear()
        return start

    def _rebuild_quietly(self) -> int:
        """Index every stored article without logging them again: other servers follow this
        log, and one joining must not make them all re-read the whole store. Changes logged
        from here on are replayed afterwards (an article read here and changed meanwhile is
        indexed twice, harmlessly)."""
        start = self.store.last_change()
        self.index.clear()
        last = 0
        while rowids := self.store.rowids_after(last, CHUNK):
            self._reindex(rowids)
            last = rowids[-1]
        self.index.commit(self._checkpoint(start))
        return start

    def _apply(self, on_progress: Callable[[int], None]) -> int:
        seq = self._replay_start(rebuild=True)
        applied = since_commit = 0
        while rows := self.store.changes_after(seq, CHUNK):
            self._reindex(list(dict.fromkeys(rowid for _, rowid in rows)))
            seq = rows[-1][0]
            applied += len(rows)
            since_commit += len(rows)
            if since_commit >= COMMIT_EVERY:
                self._commit(seq)
                since_commit = 0
            on_progress(applied)
        if since_commit or self.index.checkpoint() != self._checkpoint(seq):
            self._commit(seq)
        return applied

    def _apply_only(self, rowids: list[int]) -> None:
        """These articles alone, committed without moving the checkpoint."""
        self._reindex(rowids)
        self.index.commit(self.index.checkpoint())

    def _reindex(self, rowids: list[int]) -> None:
        """Each article as stored now, or its deletion when it is gone."""
        articles = self.store.get_by_rowids(rowids)
        for doc in self._documents(articles):
            self.index.upsert(doc)
        for rowid in rowids:
            if rowid not in articles:
                self.index.delete(rowid)

    def _commit(self, seq: int) -> None:
        self.index.commit(self._checkpoint(seq))
        self._reached = seq
        # With a shared store and an index per server, others may not have applied it yet.
        if self.index.shared or not self.store.shared:
            self.store.prune_changes(seq)

    def _documents(self, articles: dict[int, Article]) -> Iterator[IndexDoc]:
        texts = [(a.title, a.body_text()) for a in articles.values()]
        terms = None
        if len(texts) >= PARALLEL_FROM and self.workers > 1:
            try:
                terms = self._segment_in_parallel(texts)
            except BrokenProcessPool as error:
                # e.g. a script read from stdin, which spawned processes cannot re-import.
                log.warning("segmenting in this process only: %s", error)
                self.workers = 1
        if terms is None:
            terms = _segment(texts, self.analyzer)
        vectors = {}
        if self.index.holds_vectors:
            vectors = VectorTable(self.store).current(list(articles))
        for key, (title_terms, body_terms) in zip(articles, terms, strict=True):
            yield IndexDoc(key, title_terms, body_terms, vectors.get(key))

    def _segment_in_parallel(self, texts: list[tuple[str, str]]) -> list[tuple]:
        if self._pool is None:
            # spawn: a fork would copy the index writer's threads into the children.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=stop_when_orphaned,
                initargs=(os.getpid(),),
            )
        batches = [texts[i : i + PARALLEL_BATCH] for i in range(0, len(texts), PARALLEL_BATCH)]
        try:
            return [terms for batch in self._pool.map(_segment, batches) for terms in batch]
        except BrokenProcessPool:
            self._pool.shutdown()
            self._pool = None
            raise

    def _stop_writing(self) -> None:
        self.index.release()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
