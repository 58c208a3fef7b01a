"""Milvus as the lexical index that every server shares (``LANGZHONG_ENGINE=milvus``).

langzhong's analyzer stays in charge of Chinese: documents arrive segmented (rjieba and the
medical lexicons), and each term is sent as a short ASCII code (base 36 of 48 bits of its
``text.hashing`` number) that Milvus's ``standard`` analyzer keeps whole. Milvus's BM25 function
turns that text into a sparse vector on the server, so document frequencies and average lengths
are the server's own and always current; client-side sparse vectors would need IDF kept in step
by hand across writers. Title terms are sent twice, as tantivy's title field weighs them more.
The codes also serve ``TEXT_MATCH`` for document frequencies; the terms in order, for the
reranker, are a stored field. Every feature used exists in Milvus 2.5 (docs/scale-out.md).

Writes are buffered until ``commit`` like every backend's. The checkpoint lives in a second,
one-row collection written after the documents, and one process at a time writes, holding the
store's writer lock (a PostgreSQL advisory lock for a shared store).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from langzhong.index.base import IndexBusy, IndexDoc, IndexUnavailable, WriterLock
from langzhong.text.hashing import term_hash, term_hashes

try:
    from grpc import RpcError
    from pymilvus import DataType, Function, FunctionType, MilvusClient, MilvusException
except ImportError:  # the cluster extra is not installed
    MilvusClient = None

TIMEOUT_S = 3.0  # each call, by default: a server that is down is reported in seconds
MAX_TEXT = 65_535  # Milvus's longest VARCHAR
CODE_BITS = 48  # a term's code: 10 base-36 characters at most
MAX_CODES = MAX_TEXT // 11  # a longer document is indexed by its first 5,957 terms
MAX_HASHES = MAX_TEXT * 3 // 4 // 8  # base64 of 8 bytes a term: the first 6,143 terms
BATCH = 500  # rows a call
COUNTS_TTL_S = 60.0  # how long document frequencies are remembered (``term_stats``)
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"

T = TypeVar("T")


def term_code(term: str) -> str:
    """The term as Milvus sees it: lower-case letters and digits, no space, no punctuation."""
    number, code = term_hash(term) >> (64 - CODE_BITS), ""
    while True:
        number, digit = divmod(number, 36)
        code = DIGITS[digit] + code
        if not number:
            return code


def _row(doc: IndexDoc) -> dict[str, Any]:
    terms = [*doc.title_terms, *doc.body_terms]
    codes = [term_code(t) for t in [*doc.title_terms, *terms][:MAX_CODES]]
    hashes = term_hashes(terms[:MAX_HASHES]).tobytes()
    return {
        "key": doc.key,
        "codes": " ".join(codes),
        "hashes": base64.b64encode(hashes).decode("ascii"),
    }


class MilvusIndex:
    name = "milvus"
    shared = True

    def __init__(
        self, uri: str, collection: str, lock: WriterLock, timeout_s: float = TIMEOUT_S
    ) -> None:
        if MilvusClient is None:
            raise IndexUnavailable(
                "LANGZHONG_ENGINE=milvus needs pymilvus: pip install 'langzhong[cluster]'"
            )
        self.uri, self.docs, self.state = uri, collection, f"{collection}_state"
        self.lock, self.timeout_s = lock, timeout_s
        self._client: MilvusClient | None = None
        self._held = False
        self._pending: dict[int, dict[str, Any] | None] = {}  # key → row, None: deleted
        self._cleared = False
        self._counts: dict[str, int] = {}  # "" → documents, term → documents holding it
        self._counted_at = -COUNTS_TTL_S

    # -- the server ---------------------------------------------------------------------------

    def _call(self, action: Callable[[MilvusClient], T]) -> T:
        """One request. A client that fails is dropped and the request sent once more on a new
        one, which loads the collections again: after a server restart they may be released,
        and the old client's channel may stay broken."""
        while True:
            fresh = self._client is None
            try:
                if fresh:
                    # Its own channel: pymilvus shares one per address otherwise, and a
                    # shared channel that failed stays failed until its own recovery runs.
                    client = MilvusClient(uri=self.uri, timeout=self.timeout_s, dedicated=True)
                    self._create_missing(client)
                    self._client = client
                return action(self._client)
            except (MilvusException, RpcError) as error:  # a deadline passed is gRPC's own
                if self._client is not None:
                    self._client.close()
                    self._client = None
                if fresh:
                    why = getattr(error, "message", None) or type(error).__name__
                    raise IndexUnavailable(f"Milvus at {self.uri}: {why}") from None

    def _create_missing(self, client: MilvusClient) -> None:
        """The two collections, made where missing and loaded (a restarted server may hold them
        released; loading a loaded collection does nothing)."""
        self._create_docs(client)
        self._create_state(client)
        for name in (self.docs, self.state):
            client.load_collection(name, timeout=self.timeout_s * 10)

    def _create_docs(self, client: MilvusClient) -> None:
        if not client.has_collection(self.docs, timeout=self.timeout_s):
            schema = client.create_schema(auto_id=False)
            schema.add_field("key", DataType.INT64, is_primary=True)
            schema.add_field(
                "codes",
                DataType.VARCHAR,
                max_length=MAX_TEXT,
                enable_analyzer=True,
                enable_match=True,
                analyzer_params={"tokenizer": "standard"},
            )
            schema.add_field("hashes", DataType.VARCHAR, max_length=MAX_TEXT)
            schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                Function(
                    name="codes_bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=["codes"],
                    output_field_names=["bm25"],
                )
            )
            index = client.prepare_index_params()
            index.add_index(
                field_name="bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25"
            )
            client.create_collection(
                self.docs, schema=schema, index_params=index, consistency_level="Strong"
            )

    def _create_state(self, client: MilvusClient) -> None:
        if not client.has_collection(self.state, timeout=self.timeout_s):
            schema = client.create_schema(auto_id=False)
            schema.add_field("name", DataType.VARCHAR, is_primary=True, max_length=64)
            schema.add_field("value", DataType.VARCHAR, max_length=1024)
            schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector
            index = client.prepare_index_params()
            index.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
            client.create_collection(
                self.state, schema=schema, index_params=index, consistency_level="Strong"
            )

    # -- writing ------------------------------------------------------------------------------

    def claim(self) -> None:
        if not self._held:
            if not self.lock.acquire():
                raise IndexBusy(f"Milvus collection {self.docs} is being written by another")
            self._held = True

    def upsert(self, doc: IndexDoc) -> None:
        self.claim()
        self._pending[doc.key] = _row(doc)

    def delete(self, key: int) -> None:
        self.claim()
        self._pending[key] = None

    def clear(self) -> None:
        self.claim()
        self._pending.clear()
        self._cleared = True

    def commit(self, checkpoint: str) -> None:
        self.claim()
        if self._cleared:

            def drop(client: MilvusClient) -> None:
                client.drop_collection(self.docs, timeout=self.timeout_s)
                self._create_docs(client)
                client.load_collection(self.docs, timeout=self.timeout_s * 10)

            self._call(drop)
            self._cleared = False
        rows = [row for row in self._pending.values() if row is not None]
        gone = [key for key, row in self._pending.items() if row is None]
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            self._call(lambda client, batch=batch: client.upsert(self.docs, batch))
        for start in range(0, len(gone), BATCH):
            keys = gone[start : start + BATCH]
            self._call(lambda client, keys=keys: client.delete(self.docs, ids=keys))
        # Written after the documents: a crash in between only makes the indexer replay
        # changes that are already in, which upsert and delete make harmless.
        mark = {"name": "checkpoint", "value": checkpoint, "unused": [0.0, 0.0]}
        self._call(lambda client: client.upsert(self.state, [mark]))
        self._pending.clear()
        self._counted_at = -COUNTS_TTL_S

    def release(self) -> None:
        self._pending.clear()  # nothing uncommitted survives a release
        self._cleared = False
        if self._held:
            self.lock.release()
            self._held = False

    def checkpoint(self) -> str:
        found = self._call(
            lambda client: client.query(
                self.state, ids=["checkpoint"], output_fields=["value"], timeout=self.timeout_s
            )
        )
        return found[0]["value"] if found else ""

    # -- reading ------------------------------------------------------------------------------

    def search(self, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        if not terms or limit <= 0:
            return []
        text = " ".join(term_code(term) for term in terms)
        found = self._call(
            lambda client: client.search(
                self.docs,
                data=[text],
                anns_field="bm25",
                limit=limit,
                search_params={"metric_type": "BM25"},
                output_fields=[],  # the key alone: not the stored terms
                timeout=self.timeout_s,
            )
        )
        # Milvus answers BM25 scores best first; milvus-lite 3.2 gives them negated.
        return [(int(hit["key"]), abs(hit["distance"])) for hit in found[0] if hit["distance"]]

    def doc_count(self) -> int:
        found = self._call(
            lambda client: client.query(
                self.docs, filter="", output_fields=["count(*)"], timeout=self.timeout_s
            )
        )
        return int(found[0]["count(*)"])

    def term_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        # One count a term: Milvus has no document-frequency call. Counts are remembered for a
        # minute (this process's commits forget them): they weigh the reranker's terms, and a
        # minute's writes move them little. Between two counts another writer may commit; a
        # count above the total is clipped.
        now = time.monotonic()
        if now - self._counted_at > COUNTS_TTL_S:
            self._counts = {"": self.doc_count()}
            self._counted_at = now
        total = self._counts[""]
        frequencies = {}
        for term in dict.fromkeys(terms):
            if (count := self._counts.get(term)) is None:
                match = f'TEXT_MATCH(codes, "{term_code(term)}")'
                found = self._call(
                    lambda client, match=match: client.query(
                        self.docs, filter=match, output_fields=["count(*)"], timeout=self.timeout_s
                    )
                )
                count = self._counts[term] = int(found[0]["count(*)"])
            if count:
                frequencies[term] = min(count, total)
        return total, frequencies

    def doc_term_hashes(self, keys: Sequence[int]) -> dict[int, np.ndarray]:
        if not keys:
            return {}
        found = self._call(
            lambda client: client.query(
                self.docs, ids=list(keys), output_fields=["hashes"], timeout=self.timeout_s
            )
        )
        return {
            int(row["key"]): np.frombuffer(base64.b64decode(row["hashes"]), np.uint64)
            for row in found
        }

    def close(self) -> None:
        self.release()
        if self._client is not None:
            self._client.close()
            self._client = None
