"""Milvus as the lexical index that every server shares (``LANGZHONG_ENGINE=milvus``).

langzhong's analyzer stays in charge of Chinese: documents arrive segmented (rjieba and the
medical lexicons), and each term is sent as a short ASCII code (base 36 of 48 bits of its
``text.hashing`` number) that Milvus's ``standard`` analyzer keeps whole. Milvus's BM25 function
turns that text into a sparse vector on the server, so document frequencies and average lengths
are the server's own and always current; client-side sparse vectors would need IDF kept in step
by hand across writers. Title terms are sent twice, as tantivy's title field weighs them more.
The terms in order, for the reranker, are a stored field; each document's e5 vector is a
third field with an HNSW index, so no server holds the vectors in memory. Document frequencies
are counted by the writer into the store (``store/index_terms.py``): a question costs one
Milvus call, a hybrid search that answers BM25's candidates and e5's nearest together with the
terms and vectors the reranker reads. Every feature used exists in Milvus 2.5
(docs/scale-out.md).

Writes are buffered until ``commit`` like every backend's. The checkpoint lives in a second,
small collection written after the documents, and one process at a time writes, holding the
store's writer lock (a PostgreSQL advisory lock for a shared store).
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar
from uuid import uuid4

import numpy as np

from langzhong.index.base import IndexBusy, IndexDoc, IndexUnavailable, Retrieved
from langzhong.index.milvus_schema import E5_DIM, MAX_TEXT, create_docs, create_missing
from langzhong.store import ArticleStore
from langzhong.store.index_terms import IndexTerms, signed
from langzhong.text.hashing import term_hash, term_hashes

try:
    from grpc import RpcError
    from pymilvus import AnnSearchRequest, MilvusClient, MilvusException, WeightedRanker
except ImportError:  # the cluster extra is not installed
    MilvusClient = None

TIMEOUT_S = 3.0  # each call, by default: a server that is down is reported in seconds
CODE_BITS = 48  # a term's code: 10 base-36 characters at most
MAX_CODES = MAX_TEXT // 11  # a longer document is indexed by its first 5,957 terms
MAX_HASHES = MAX_TEXT * 3 // 4 // 8  # base64 of 8 bytes a term: the first 6,143 terms
BATCH = 500  # rows a call
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


def _row(doc: IndexDoc, dim: int) -> tuple[dict[str, Any], list[int]]:
    """The document's row, and its distinct terms for the document frequencies."""
    terms = [*doc.title_terms, *doc.body_terms]
    codes = [term_code(t) for t in [*doc.title_terms, *terms][:MAX_CODES]]
    hashes = term_hashes(terms[:MAX_HASHES])
    # Milvus 2.5 has no vector that may be missing: one without an e5 vector yet gets a
    # stand-in, which searches leave out by ``has_vector``.
    vector = doc.vector if doc.vector is not None else np.eye(1, dim, dtype=np.float32)[0]
    row = {
        "key": doc.key,
        "codes": " ".join(codes),
        "hashes": base64.b64encode(hashes.tobytes()).decode("ascii"),
        "e5": np.asarray(vector, np.float32).tolist(),
        "has_vector": doc.vector is not None,
    }
    return row, signed(np.unique(hashes))


def _hashes(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), np.uint64)


class MilvusIndex:
    name = "milvus"
    shared = True
    holds_vectors = True

    def __init__(
        self,
        uri: str,
        collection: str,
        store: ArticleStore,
        timeout_s: float = TIMEOUT_S,
        token: str | None = None,
        dim: int = E5_DIM,
    ) -> None:
        """``store``: where the writer's lock and the document frequencies live; ``token``:
        Milvus's credentials ("user:password" or an API key), None where it has none."""
        if MilvusClient is None:
            raise IndexUnavailable(
                "LANGZHONG_ENGINE=milvus needs pymilvus: pip install 'langzhong[cluster]'"
            )
        self.uri, self.docs, self.state = uri, collection, f"{collection}_state"
        self.lock = store.writer_lock(f"milvus-{collection}")
        self.terms = IndexTerms(store, collection)
        self.timeout_s, self.token, self.dim = timeout_s, token, dim
        self.calls = 0  # requests sent, for the calls a question costs (``stats``, /metrics)
        self._client: MilvusClient | None = None
        self._held = False
        # key → (row, its distinct terms), None: deleted
        self._pending: dict[int, tuple[dict[str, Any], list[int]] | None] = {}
        self._cleared = False

    # -- the server ---------------------------------------------------------------------------

    def _call(self, action: Callable[[MilvusClient], T]) -> T:
        """One request. A client that fails is dropped and the request sent once more on a new
        one, which loads the collections again: after a server restart they may be released,
        and the old client's channel may stay broken."""
        while True:
            fresh = self._client is None
            self.calls += 1
            try:
                if fresh:
                    # Its own channel: pymilvus shares one per address otherwise, and a
                    # shared channel that failed stays failed until its own recovery runs.
                    client = MilvusClient(
                        uri=self.uri, token=self.token or "", timeout=self.timeout_s, dedicated=True
                    )
                    create_missing(client, self.docs, self.state, self.dim, self.timeout_s)
                    self._client = client
                return action(self._client)
            except (MilvusException, RpcError) as error:  # a deadline passed is gRPC's own
                if self._client is not None:
                    self._client.close()
                    self._client = None
                if fresh:
                    why = getattr(error, "message", None) or type(error).__name__
                    raise IndexUnavailable(f"Milvus at {self.uri}: {why}") from None

    # -- writing ------------------------------------------------------------------------------

    def claim(self) -> None:
        if not self._held:
            if not self.lock.acquire():
                raise IndexBusy(f"Milvus collection {self.docs} is being written by another")
            self._held = True

    def upsert(self, doc: IndexDoc) -> None:
        self.claim()
        self._pending[doc.key] = _row(doc, self.dim)

    def delete(self, key: int) -> None:
        self.claim()
        self._pending[key] = None

    def clear(self) -> None:
        self.claim()
        self._pending.clear()
        self._cleared = True

    def commit(self, checkpoint: str) -> None:
        """The documents, their document frequencies (in the store, with a new token) and then
        the checkpoint with that token. Frequencies found out of step with the documents (a
        crash between the two) are counted again from the documents first."""
        self.claim()
        start_over, self._cleared = self._cleared, False
        if start_over:

            def drop(client: MilvusClient) -> None:
                # The checkpoint first: a crash after the drop then means a rebuild, never an
                # empty collection that says it is up to date.
                client.delete(self.state, ids=["checkpoint", "terms"], timeout=self.timeout_s)
                client.drop_collection(self.docs, timeout=self.timeout_s)
                create_docs(client, self.docs, self.dim, self.timeout_s)
                client.load_collection(self.docs, timeout=self.timeout_s * 10)

            self._call(drop)
        elif (written := self._state().get("terms")) != self.terms.token():
            self.terms.recount(self._all_terms(), written or "")
        change, docs = self._term_change(start_over)
        token = uuid4().hex
        self.terms.apply(change, docs, token, start_over=start_over)
        rows = [pending[0] for pending in self._pending.values() if pending is not None]
        gone = [key for key, pending in self._pending.items() if pending is None]
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            self._call(partial(MilvusClient.upsert, collection_name=self.docs, data=batch))
        for start in range(0, len(gone), BATCH):
            keys = gone[start : start + BATCH]
            self._call(partial(MilvusClient.delete, collection_name=self.docs, ids=keys))
        # Written after the documents: a crash in between only makes the indexer replay
        # changes that are already in, which upsert and delete make harmless.
        marks = [
            {"name": name, "value": value, "unused": [0.0, 0.0]}
            for name, value in (("checkpoint", checkpoint), ("terms", token))
        ]
        self._call(lambda client: client.upsert(self.state, marks))
        self._pending.clear()

    def _term_change(self, start_over: bool) -> tuple[Counter, int]:
        """What the pending writes change in the document frequencies, and in the count of
        documents: the stored version of each written document leaves, the new one comes."""
        before = {} if start_over else self._stored_terms(list(self._pending))
        change: Counter = Counter()
        docs = 0
        for key, pending in self._pending.items():
            if (old := before.get(key)) is not None:
                change.subtract(old)
                docs -= 1
            if pending is not None:
                change.update(pending[1])
                docs += 1
        return change, docs

    def _stored_terms(self, keys: list[int]) -> dict[int, list[int]]:
        found = {}
        for start in range(0, len(keys), BATCH):
            batch = keys[start : start + BATCH]
            for key, hashes in self.doc_term_hashes(batch).items():
                found[key] = signed(np.unique(hashes))
        return found

    def _all_terms(self) -> Iterator[np.ndarray]:
        """Every indexed document's distinct terms, for counting them again."""
        rows = self._call(
            lambda client: client.query_iterator(
                self.docs, batch_size=BATCH * 2, output_fields=["hashes"], timeout=self.timeout_s
            )
        )
        while batch := self._call(lambda client: rows.next()):
            for row in batch:
                yield np.array(signed(np.unique(_hashes(row["hashes"]))), np.int64)
        rows.close()

    def release(self) -> None:
        self._pending.clear()  # nothing uncommitted survives a release
        self._cleared = False
        if self._held:
            self.lock.release()
            self._held = False

    def _state(self) -> dict[str, str]:
        found = self._call(
            lambda client: client.query(
                self.state,
                ids=["checkpoint", "terms"],
                output_fields=["value"],
                timeout=self.timeout_s,
            )
        )
        return {row["name"]: row["value"] for row in found}

    def checkpoint(self) -> str:
        return self._state().get("checkpoint", "")

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

    def retrieve(
        self,
        terms: Sequence[str],
        limit: int,
        question: np.ndarray | None = None,
        nearest: int = 0,
    ) -> Retrieved:
        """BM25's best ``limit`` for the terms and, with the question's e5 vector, its
        ``nearest`` documents, in one hybrid search that returns every candidate's terms and
        vector: the reranker needs no other call."""
        text = " ".join(term_code(term) for term in terms) if limit > 0 else ""
        requests = []
        if text:
            requests.append(AnnSearchRequest([text], "bm25", {"metric_type": "BM25"}, limit))
        if question is not None and nearest > 0:
            requests.append(
                AnnSearchRequest(
                    [question.tolist()],
                    "e5",
                    {"metric_type": "COSINE", "params": {"ef": max(64, nearest)}},
                    nearest,
                    expr="has_vector == true",
                )
            )
        if not requests:
            return Retrieved([], [], {}, {})
        fields = ["hashes", "e5", "has_vector"] if question is not None else ["hashes"]
        hits = self._call(lambda client: self._search_all(client, requests, fields))[0]
        if not text:  # e5 alone: its scores are the cosines
            hits = [{**hit, "distance": 0.0} for hit in hits]
        keys = [int(hit["key"]) for hit in hits]
        ranked = sorted(
            ((key, abs(hit["distance"])) for key, hit in zip(keys, hits, strict=True)),
            key=lambda pair: -pair[1],
        )
        cosines = {}
        if question is not None:
            cosines = {
                key: float(np.dot(np.asarray(hit["entity"]["e5"], np.float32), question))
                for key, hit in zip(keys, hits, strict=True)
                if hit["entity"]["has_vector"]
            }
        return Retrieved(
            [(key, score) for key, score in ranked if score],
            sorted(cosines, key=lambda key: -cosines[key])[:nearest],
            {key: _hashes(hit["entity"]["hashes"]) for key, hit in zip(keys, hits, strict=True)},
            cosines,
        )

    def _search_all(self, client: MilvusClient, requests: list, fields: list[str]) -> list:
        """One request as a search; BM25's and e5's together as one hybrid search."""
        if len(requests) == 1:
            (request,) = requests
            return client.search(
                self.docs,
                data=request.data,
                anns_field=request.anns_field,
                limit=request.limit,
                search_params=request.param,
                filter=request.expr or "",
                output_fields=fields,
                timeout=self.timeout_s,
            )
        # The fused score is BM25's own (weight 1; e5's 0), so a candidate that only e5 found
        # scores 0, and the cosines are read from the vectors: the reranker and the confidence
        # model weigh the two signals themselves (a fused score would hide them).
        return client.hybrid_search(
            self.docs,
            requests,
            WeightedRanker(1.0, 0.0, norm_score=False),
            limit=sum(request.limit for request in requests),
            output_fields=fields,
            timeout=self.timeout_s,
        )

    def doc_count(self) -> int:
        found = self._call(
            lambda client: client.query(
                self.docs, filter="", output_fields=["count(*)"], timeout=self.timeout_s
            )
        )
        return int(found[0]["count(*)"])

    def term_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        # From the store, where the writer counts them: no Milvus call (store/index_terms.py).
        numbers = signed(term_hashes(list(terms)))
        total, counts = self.terms.counts(numbers)
        found = {term: counts[n] for term, n in zip(terms, numbers, strict=True) if n in counts}
        return total, {term: min(count, total) for term, count in found.items()}

    def doc_term_hashes(self, keys: Sequence[int]) -> dict[int, np.ndarray]:
        if not keys:
            return {}
        found = self._call(
            lambda client: client.query(
                self.docs, ids=list(keys), output_fields=["hashes"], timeout=self.timeout_s
            )
        )
        return {int(row["key"]): _hashes(row["hashes"]) for row in found}

    def close(self) -> None:
        self.release()
        if self._client is not None:
            self._client.close()
            self._client = None
