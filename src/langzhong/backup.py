"""``langzhong export`` and ``import``: the whole store as JSON lines, each article with its e5
vector.

A vector costs CPU to remake (days for a million articles), so it travels with its article: the
line holds the article's fields and ``vector``, with the hash of the weights that made it, the
content hash of the text it was made from, its int8 codes in base64 and their scale. Import
stores a vector where this installation's weights made it and the article holds that text; the
other articles are pending like any new one, embedded again, and the command says how many.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from itertools import islice
from typing import IO, Any

from langzhong.index.embedding import Embedding
from langzhong.store import ArticleStore
from langzhong.store.vectors import MODEL_KEY, VectorTable

VECTOR = "vector"
BATCH = 500  # articles whose vectors are read together


def export(store: ArticleStore, lines: IO[str]) -> tuple[int, int]:
    """Write every stored article as one JSON line, with its vector where it has one of its
    current text; returns (articles, vectors)."""
    table, model = VectorTable(store), store.meta(MODEL_KEY)
    articles = vectors = 0
    stream = store.iter_articles()
    while batch := list(islice(stream, BATCH)):
        found = table.of_articles([article.id for article in batch]) if model else {}
        for article in batch:
            record = article.model_dump(mode="json")
            if article.id in found:
                digest, codes, scale = found[article.id]
                record[VECTOR] = {
                    "model": model,
                    "content_hash": digest,
                    "scale": scale,
                    "codes": base64.b64encode(codes).decode("ascii"),
                }
                vectors += 1
            lines.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        articles += len(batch)
    return articles, vectors


class CarriedVectors:
    """The vectors on an import's lines, stored once their articles are: ``read`` sees each
    line, ``store`` runs after each committed batch of articles. ``job`` None: dense retrieval
    is off here, and no vector is taken."""

    def __init__(self, job: Embedding | None) -> None:
        self.table = job.table if job else None
        self.model_hash = job.embedder.model_hash if job else None
        self.dim = job.embedder.dim if job else 0
        self.waiting: list[tuple[str, str, bytes, float]] = []
        self.carried = 0  # stored as exported
        self.left_out = 0  # made by other weights, unreadable, or not of the stored text

    def read(self, record: Any) -> None:
        """One line's JSON value (``read_jsonl``'s ``on_record``)."""
        vector = record.get(VECTOR) if isinstance(record, dict) else None
        if vector is None:
            return
        row = self._row(record.get("id"), vector)
        if row is None:
            self.left_out += 1
        else:
            self.waiting.append(row)

    def store(self) -> None:
        if self.waiting and self.table is not None:
            stored = self.table.put_codes(self.waiting)
            self.carried += stored
            self.left_out += len(self.waiting) - stored
        self.waiting.clear()

    def _row(self, article_id: Any, vector: Any) -> tuple[str, str, bytes, float] | None:
        """(article id, content hash, codes, scale), or None for a vector not to be taken."""
        if self.table is None or not isinstance(vector, dict):
            return None
        digest, scale, codes = vector.get("content_hash"), vector.get("scale"), vector.get("codes")
        if vector.get("model") != self.model_hash or not isinstance(article_id, str):
            return None
        if not (isinstance(digest, str) and isinstance(codes, str) and isinstance(scale, float)):
            return None
        try:
            raw = base64.b64decode(codes, validate=True)
        except binascii.Error:
            return None
        return (
            (article_id, digest, raw, scale)
            if len(raw) == self.dim and math.isfinite(scale)
            else None
        )
