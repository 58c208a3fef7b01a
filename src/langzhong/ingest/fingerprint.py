"""Identity of stored articles: stable ids, exact content hashes and MinHash near-duplicate keys."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
from datasketch import MinHash

from langzhong.core import Article
from langzhong.text import normalize

NUM_PERM = 64
BANDS = 8  # 8 bands of 8 rows: pages above about 0.77 Jaccard share a band key
ROWS = NUM_PERM // BANDS
SHINGLE = 3
MIN_CHARS = 50  # shorter bodies are too small for a reliable near-duplicate check
_NOT_TEXT = re.compile(r"[\W_]+")
ADDED_LATER = ("author", "reviewed")  # fields added after articles were first hashed


def article_id(source: str | None, title: str) -> str:
    """The id of a page article: the same title on the same site is the same article."""
    key = f"{normalize(source or '').strip()}\n{normalize(title).strip()}"
    return "a-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def content_hash(article: Article) -> str:
    """Hash of everything stored about the article except its id."""
    payload = article.model_dump(exclude={"id"}, mode="json")
    payload["related"] = [link["title"] for link in payload["related"]]
    for added in ADDED_LATER:  # count only when set: earlier articles keep their hashes
        if payload[added] is None:
            del payload[added]
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def signature(article: Article) -> np.ndarray | None:
    """MinHash of the article's character shingles, or None when the text is too short."""
    text = _NOT_TEXT.sub("", normalize(article.body_text()))
    if len(text) < MIN_CHARS:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=1)
    minhash.update_batch(
        [text[i : i + SHINGLE].encode("utf-8") for i in range(len(text) - SHINGLE + 1)]
    )
    return minhash.hashvalues.astype(np.uint64)


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per band, for lookup in SQLite."""
    return [
        int.from_bytes(
            hashlib.blake2b(sig[b * ROWS : (b + 1) * ROWS].tobytes(), digest_size=8).digest(),
            "big",
            signed=True,
        )
        for b in range(BANDS)
    ]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))
