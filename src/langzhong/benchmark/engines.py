"""The engines measured, each indexing the same documents and answering the same questions.

Peers get the same terms as langzhong (its analyzer: rjieba with the medical lexicon), a repeated
query word repeated for every engine, so what is compared is the engine; their tokenising time
counts in their indexing throughput too.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from langzhong.text import default_analyzer

TOP = 100  # enough for nDCG@10 and Recall@100


class Engine(Protocol):
    name: str

    def index(self, docs: Iterable[tuple[str, str]]) -> None: ...

    def query(self, text: str) -> list[tuple[str, float]]: ...

    def disk_bytes(self) -> int: ...


def _terms(text: str) -> list[str]:
    return default_analyzer().terms(text)


def _ids_and_terms(docs: Iterable[tuple[str, str]]) -> tuple[list[str], list[list[str]]]:
    """For the engines that keep every document's terms in memory."""
    ids, terms = [], []
    for doc, text in docs:
        ids.append(doc)
        terms.append(_terms(text))
    return ids, terms


class Bm25s:
    name = "bm25s"

    def index(self, docs: Iterable[tuple[str, str]]) -> None:
        import bm25s

        self.ids, tokens = _ids_and_terms(docs)
        self.model = bm25s.BM25()
        self.model.index(tokens, show_progress=False)

    def query(self, text: str) -> list[tuple[str, float]]:
        terms = [t for t in _terms(text) if t in self.model.vocab_dict]
        if not terms:
            return []
        docs, scores = self.model.retrieve([terms], k=min(TOP, len(self.ids)), show_progress=False)
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def disk_bytes(self) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            self.model.save(tmp)
            return sum(p.stat().st_size for p in Path(tmp).iterdir())


class SqliteFts5:
    """FTS5 used directly: one table, terms space-separated, bm25() ranking, nothing else."""

    name = "sqlite-fts5"

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "fts.db"

    def index(self, docs: Iterable[tuple[str, str]]) -> None:
        self.conn = sqlite3.connect(self.path)
        self.conn.execute("CREATE VIRTUAL TABLE t USING fts5(doc UNINDEXED, body)")
        with self.conn:
            self.conn.executemany(
                "INSERT INTO t VALUES (?, ?)", ((doc, " ".join(_terms(text))) for doc, text in docs)
            )

    def query(self, text: str) -> list[tuple[str, float]]:
        terms = _terms(text)
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = self.conn.execute(
            "SELECT doc, -bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT ?", (match, TOP)
        )
        return list(rows)

    def disk_bytes(self) -> int:
        return self.path.stat().st_size


class Tantivy:
    name = "tantivy"

    def index(self, docs: Iterable[tuple[str, str]]) -> None:
        import tantivy

        self.dir = tempfile.TemporaryDirectory()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("doc", stored=True, tokenizer_name="raw")
        builder.add_text_field("body", tokenizer_name="whitespace")
        self.schema = builder.build()
        self.tantivy = tantivy
        index = tantivy.Index(self.schema, path=self.dir.name)
        writer = index.writer(heap_size=256 << 20, num_threads=2)
        for doc, text in docs:
            writer.add_document(tantivy.Document(doc=doc, body=" ".join(_terms(text))))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        self.searcher = index.searcher()

    def query(self, text: str) -> list[tuple[str, float]]:
        t = self.tantivy
        terms = _terms(text)
        if not terms:
            return []
        query = t.Query.boolean_query(
            [(t.Occur.Should, t.Query.term_query(self.schema, "body", term)) for term in terms]
        )
        hits = self.searcher.search(query, TOP).hits
        return [(self.searcher.doc(address)["doc"][0], score) for score, address in hits]

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in Path(self.dir.name).rglob("*") if p.is_file())


class RankBm25:
    name = "rank_bm25"

    def index(self, docs: Iterable[tuple[str, str]]) -> None:
        from rank_bm25 import BM25Okapi

        self.ids, tokens = _ids_and_terms(docs)
        self.model = BM25Okapi(tokens)

    def query(self, text: str) -> list[tuple[str, float]]:
        scores = self.model.get_scores(_terms(text))
        top = np.argsort(-scores)[:TOP]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def disk_bytes(self) -> int:
        return 0  # in memory only


PEERS = {engine.name: engine for engine in (Bm25s, SqliteFts5, Tantivy, RankBm25)}
