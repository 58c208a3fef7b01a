"""Document frequencies of a shared index (Milvus), kept in the store by the index's writer.

Milvus has no call that answers "in how many documents is this term": counting with
``TEXT_MATCH`` is one call a term, seconds each on a big collection. The writer knows every
document it adds and removes, so it keeps the counts here, in the same database every server
already reads, and a question reads them in one statement.

The counts and the index are two systems: each commit of the index writes a new token to both
(here in the transaction that applies the counts' change, in Milvus after the documents). A
writer that finds the two tokens apart (a crash between the two writes) counts again from the
index before it applies anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from langzhong.store.sqlite import ArticleStore

UPSERT = (
    "INSERT INTO index_terms VALUES (?, ?, ?) ON CONFLICT (collection, term)"
    " DO UPDATE SET docs = index_terms.docs + excluded.docs"
)


def signed(hashes: np.ndarray) -> list[int]:
    """``text.term_hashes`` numbers as the store's signed 64-bit integers."""
    return np.asarray(hashes, np.uint64).view(np.int64).tolist()


class IndexTerms:
    def __init__(self, store: ArticleStore, collection: str) -> None:
        self.store, self.collection = store, collection
        self._docs_key, self._token_key = f"index_docs:{collection}", f"index_token:{collection}"

    def counts(self, hashes: Sequence[int]) -> tuple[int, dict[int, int]]:
        """How many documents are indexed, and how many hold each term (``signed`` numbers;
        terms in none are left out), from one state of the store."""
        wanted = list(dict.fromkeys(hashes))
        marks = ",".join("?" * len(wanted))
        with self.store.snapshot() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key=?", (self._docs_key,)).fetchone()
            found = []
            if wanted:
                found = conn.execute(
                    f"SELECT term, docs FROM index_terms WHERE collection=? AND term IN ({marks})"
                    " AND docs > 0",
                    [self.collection, *wanted],
                ).fetchall()
        return int(row[0]) if row else 0, dict(found)

    def token(self) -> str | None:
        """The token of the last commit these counts include."""
        return self.store.meta(self._token_key)

    def apply(
        self, change: Mapping[int, int], docs: int, token: str, start_over: bool = False
    ) -> None:
        """Add ``change`` (term → documents gained, negative for lost) and ``docs`` to the
        counts, in one transaction that also records ``token`` (``start_over``: from zero)."""
        with self.store.transaction() as conn:
            if start_over:
                conn.execute("DELETE FROM index_terms WHERE collection=?", (self.collection,))
            else:
                row = conn.execute("SELECT value FROM meta WHERE key=?", (self._docs_key,))
                docs += int((row.fetchone() or [0])[0])
            rows = [(self.collection, term, n) for term, n in change.items() if n]
            if rows:
                conn.executemany(UPSERT, rows)
            self.store.set_meta(self._docs_key, str(docs))
            self.store.set_meta(self._token_key, token)

    def recount(self, documents: Iterable[np.ndarray], token: str) -> None:
        """Count again from every indexed document's distinct terms (``signed`` numbers)."""
        change: dict[int, int] = {}
        docs = 0
        for terms in documents:
            docs += 1
            for term in terms.tolist():
                change[term] = change.get(term, 0) + 1
        self.apply(change, docs, token, start_over=True)
