"""tantivy (Rust; BM25 with block-max WAND) in a folder beside the store: the default engine.

Chosen by measurement (docs/engine.md): the quality of SQLite FTS5 with the same terms, at a
latency that stays in milliseconds at a million documents, because top-k pruning skips most of
the documents a long question's common words match.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import tantivy

from langzhong.index.base import IndexBusy, IndexDoc
from langzhong.text.hashing import term_hashes

CHECKPOINT_FILE = "checkpoint"  # how far the last commit reaches, written after it
WRITER_HEAP_BYTES = 256 << 20
# tantivy's errors for an index this schema cannot use; any other error (I/O, permissions) is
# raised, never answered by deleting the folder.
REBUILDABLE = ("Schema error", "Data corrupted")
WRITER_THREADS = 1  # the other core segments text meanwhile (ingest/indexer.py)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("key", stored=True, indexed=True, fast=True)
    # Title and body terms; the title again, to weigh more.
    builder.add_text_field("terms", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("title", tokenizer_name="whitespace", index_option="freq")
    # The same terms in order as numbers, stored for the reranker (text.hashing).
    builder.add_bytes_field("hashes", stored=True)
    return builder.build()


class TantivyIndex:
    name = "tantivy"
    shared = False
    holds_vectors = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema = _schema()
        path.mkdir(parents=True, exist_ok=True)
        try:
            self._index = tantivy.Index(self.schema, path=str(path))
        except ValueError as error:
            if not str(error).startswith(REBUILDABLE):
                raise
            # An index of an older schema, or damaged: it is derived data, so start afresh
            # (its checkpoint is then gone and the indexer rebuilds it from the store).
            shutil.rmtree(path)
            path.mkdir(parents=True)
            self._index = tantivy.Index(self.schema, path=str(path))
        self._writer: tantivy.IndexWriter | None = None
        self._last = threading.local()  # each thread's last search: its searcher and addresses

    # -- writing -----------------------------------------------------------------------------

    def _writing(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._index.writer(WRITER_HEAP_BYTES, WRITER_THREADS)
            except ValueError as error:
                if "LockBusy" in str(error):
                    raise IndexBusy(f"{self.path} is being written by another process") from None
                raise
        return self._writer

    def claim(self) -> None:
        self._writing()

    def upsert(self, doc: IndexDoc) -> None:
        writer = self._writing()
        writer.delete_documents_by_term("key", doc.key)
        terms = [*doc.title_terms, *doc.body_terms]
        writer.add_document(
            tantivy.Document(
                key=doc.key,
                terms=" ".join(terms),
                title=" ".join(doc.title_terms),
                hashes=term_hashes(terms).tobytes(),
            )
        )

    def delete(self, key: int) -> None:
        self._writing().delete_documents_by_term("key", key)

    def clear(self) -> None:
        self._writing().delete_all_documents()

    def commit(self, checkpoint: str) -> None:
        self._writing().commit()
        # Written after the commit: a crash in between only makes the indexer replay changes
        # that are already in, which upsert and delete make harmless.
        temporary = self.path / f"{CHECKPOINT_FILE}.tmp"
        temporary.write_text(checkpoint)
        os.replace(temporary, self.path / CHECKPOINT_FILE)
        self._index.reload()

    def release(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.rollback()  # nothing uncommitted survives a release
            writer.wait_merging_threads()

    def checkpoint(self) -> str:
        try:
            return (self.path / CHECKPOINT_FILE).read_text()
        except FileNotFoundError:
            return ""

    # -- reading -----------------------------------------------------------------------------

    def _searcher(self) -> tantivy.Searcher:
        # Another process (a second server worker, an ingest) may have committed since: look
        # (about 10 µs) so that a write is searchable everywhere as soon as its call returns.
        self._index.reload()
        return self._index.searcher()

    def search(self, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        if not terms or limit <= 0:
            return []
        clauses = []
        for term, repeats in Counter(terms).items():
            for field in ("terms", "title"):
                query = tantivy.Query.term_query(self.schema, field, term, index_option="freq")
                if repeats > 1:  # as if given that many times; measured faster than repeating it
                    query = tantivy.Query.boost_query(query, float(repeats))
                clauses.append((tantivy.Occur.Should, query))
        searcher = self._searcher()
        hits = searcher.search(tantivy.Query.boolean_query(clauses), limit, count=False).hits
        if not hits:
            return []
        addresses = [address for _, address in hits]
        keys = _keys(searcher, addresses)
        # The reranker asks for these documents' terms next: remember where they are.
        self._last.found = searcher, dict(zip(keys, addresses, strict=True))
        return [(key, score) for key, (score, _) in zip(keys, hits, strict=True) if score > 0]

    def doc_count(self) -> int:
        return self._searcher().num_docs

    def term_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        searcher = self._searcher()
        found = {term: searcher.doc_freq("terms", term) for term in dict.fromkeys(terms)}
        return searcher.num_docs, {term: n for term, n in found.items() if n > 0}

    def doc_term_hashes(self, keys: Sequence[int]) -> dict[int, np.ndarray]:
        if not keys:
            return {}
        searcher: tantivy.Searcher | None
        addresses: dict[int, tantivy.DocAddress]
        searcher, addresses = getattr(self._last, "found", (None, {}))
        if searcher is None or not any(key in addresses for key in keys):  # another question's
            searcher, addresses = self._searcher(), {}
        # Keys this thread's last search did not return (e5's neighbours) are looked up in the
        # same snapshot, whose addresses the others' are: about 15 µs a key.
        if missing := [key for key in keys if key not in addresses]:
            query = tantivy.Query.term_set_query(self.schema, "key", missing)
            hits = searcher.search(query, len(missing), count=False).hits
            found = [address for _, address in hits]
            looked_up = zip(_keys(searcher, found), found, strict=True)
            addresses = {**addresses, **dict(looked_up)}
        hashes: dict[int, np.ndarray] = {}
        for key in keys:
            if key in addresses:
                stored = searcher.doc(addresses[key])["hashes"]
                hashes[key] = np.frombuffer(stored[0] if stored else b"", np.uint64)
        return hashes

    def close(self) -> None:
        self.release()


def _keys(searcher: tantivy.Searcher, addresses: list[tantivy.DocAddress]) -> list[int]:
    """The documents' keys (the "key" field holds the store's rowids, u64)."""
    return cast(list[int], searcher.fast_field_values("key", addresses))
