"""Storing parsed articles: add, update or recognise as already there.

The writer touches only the store; the store's change log tells the indexer what to index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from langzhong.core import Article
from langzhong.ingest import fingerprint
from langzhong.ingest.sources import Rejection, iter_files, read_file
from langzhong.store import ArticleStore
from langzhong.store.sqlite import StoredArticle

Outcome = Literal["added", "updated", "duplicate"]
NEAR_DUPLICATE = 0.8  # estimated Jaccard of character shingles above which a page is the same page
BATCH = 500  # articles per transaction: one fsync per batch, and a kill loses at most a batch


@dataclass
class IngestReport:
    counts: Counter = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "added": self.counts["added"],
            "updated": self.counts["updated"],
            "duplicates": self.counts["duplicate"],
            "rejected": len(self.rejections),
        }


class Writer:
    """Writes articles into the store, deciding what is new, changed or already there."""

    def __init__(self, store: ArticleStore) -> None:
        self.store = store

    def write(self, article: Article, dedupe: bool = True) -> tuple[Outcome, str]:
        """Store one article (call inside ``store.transaction()``); returns what happened and
        the id it is stored under (a near-duplicate keeps the id of the page it duplicates).

        ``dedupe=False`` (restoring a backup) stores the article under its own id even when
        another article has the same or nearly the same text.
        """
        digest = fingerprint.content_hash(article)
        existing = self.store.lookup(article.id)
        if existing and existing.content_hash == digest:
            return "duplicate", existing.id
        # Only crawled pages are matched as near-duplicates; Q&A rows are distinct by their ids.
        signature = fingerprint.signature(article) if article.kind == "article" else None
        keys = fingerprint.band_keys(signature) if signature is not None else []
        if existing is None and dedupe:
            same = self.store.lookup_hash(digest)
            if same:
                return "duplicate", same.id
            if signature is not None:
                near = self._near_duplicate(signature, keys)
                if near is not None:
                    if near.content_hash == digest:
                        return "duplicate", near.id
                    article, existing = article.model_copy(update={"id": near.id}), near
        self.store.put(article, digest, signature, keys, existing)
        return ("updated" if existing else "added"), article.id

    def _near_duplicate(self, signature: np.ndarray, keys: list[int]) -> StoredArticle | None:
        best, best_score = None, NEAR_DUPLICATE
        for stored, other in self.store.signatures_sharing(keys):
            score = fingerprint.similarity(signature, other)
            if score >= best_score:
                best, best_score = stored, score
        return best

    def stored_elsewhere(self, article: Article) -> str | None:
        """The id of another stored article with exactly this content, if any."""
        same = self.store.lookup_hash(fingerprint.content_hash(article))
        return same.id if same and same.id != article.id else None

    def delete(self, article_id: str) -> int | None:
        """Remove an article (call inside ``store.transaction()``); returns its rowid, or None
        when there was none."""
        return self.store.delete(article_id)

    def write_each(
        self, articles: Iterable[Article], report: IngestReport, dedupe: bool = True
    ) -> list[str]:
        """Write articles inside one ``store.transaction()``, each in its own savepoint so that
        one that cannot be stored costs only itself; returns the ids they are stored under."""
        conn = self.store.conn
        stored = []
        for article in articles:
            conn.execute("SAVEPOINT article")
            try:
                outcome, stored_id = self.write(article, dedupe)
                report.counts[outcome] += 1
                stored.append(stored_id)
            except Exception as error:  # one article never costs the batch
                conn.execute("ROLLBACK TO article")
                reason = f"not stored ({type(error).__name__})"
                report.rejections.append(Rejection(f"article {article.id}", reason))
            conn.execute("RELEASE article")
        return stored

    def write_all(
        self,
        items: Iterable[Article | Rejection],
        report: IngestReport,
        on_item: Callable[[], None] = lambda: None,
        dedupe: bool = True,
        after_batch: Callable[[], None] = lambda: None,
    ) -> None:
        """Write a stream of articles in batches; rejections are collected, never written.
        ``after_batch`` runs after each batch is committed."""
        pending: list[Article] = []

        def flush() -> None:
            with self.store.transaction():
                self.write_each(pending, report, dedupe)
            pending.clear()
            after_batch()

        for item in items:
            if isinstance(item, Rejection):
                report.rejections.append(item)
            else:
                pending.append(item)
                if len(pending) >= BATCH:
                    flush()
            on_item()
        if pending:
            flush()


def ingest_paths(
    writer: Writer,
    paths: Iterable[Path],
    *,
    max_bytes: int,
    source: str | None = None,
    on_file: Callable[[Path | None], None] = lambda path: None,
    on_rejection: Callable[[Rejection], None] = lambda rejection: None,
    after_batch: Callable[[], None] = lambda: None,
) -> IngestReport:
    """Ingest files and directories; each bad file or line is reported and skipped."""
    report = IngestReport()
    for path in iter_files(paths):
        if isinstance(path, Rejection):
            report.rejections.append(path)
            on_rejection(path)
            continue
        before = len(report.rejections)
        items = read_file(path, max_bytes=max_bytes, source=source)
        writer.write_all(items, report, after_batch=after_batch)
        for rejection in report.rejections[before:]:
            on_rejection(rejection)
        on_file(path)
    return report
