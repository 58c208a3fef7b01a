"""Vectors already computed, found by a hash of the text they were made from.

Stored as int8 with one scale per row (a quarter of float32's size; cosine against the float
vector stays above 0.999), in one ``.npz`` file that names the model's weights, so a file made
by other weights is never read as this model's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from langzhong.data import load_shipped
from langzhong.embed.base import one_line

BATCH = 32  # texts a model call embeds at once: the engine spreads a batch over the cores
# The demo's texts embedded ahead (scripts/build_vectors.py): by langzhong's tuned e5, and by
# e5 as published (what the evaluation's peers read).
SHIPPED_VECTORS = ("e5-demo-vectors.npz", "e5-stock-demo-vectors.npz")


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and one scale per row (cosine against the float vector stays above 0.999)."""
    scales = np.maximum(np.abs(vectors).max(axis=1) / 127.0, 1e-12).astype(np.float32)
    return np.round(vectors / scales[:, None]).astype(np.int8), scales


def text_key(text: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(one_line(text).encode(), digest_size=8).digest(), "little"
    )


class VectorCache:
    def __init__(self, model_hash: str, dim: int) -> None:
        self.model_hash, self.dim = model_hash, dim
        self._rows: dict[int, int] = {}
        self._codes = np.zeros((0, dim), np.int8)
        self._scales = np.zeros(0, np.float32)

    def __len__(self) -> int:
        return len(self._rows)

    @classmethod
    def load(cls, path: Path, model_hash: str) -> VectorCache | None:
        """The file's vectors when they were made by these weights, else None."""
        with np.load(path) as data:
            if str(data["model_hash"]) != model_hash:
                return None
            cache = cls(model_hash, int(data["codes"].shape[1]))
            cache._codes, cache._scales = data["codes"], data["scales"]
            cache._rows = {int(k): i for i, k in enumerate(data["keys"])}
        return cache

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.fromiter(self._rows, np.uint64, len(self._rows))
        order = np.fromiter(self._rows.values(), np.int64, len(self._rows))
        np.savez_compressed(
            path,
            model_hash=np.array(self.model_hash),
            keys=keys,
            codes=self._codes[order],
            scales=self._scales[order],
        )

    def merge(self, other: VectorCache) -> None:
        """Take the other cache's vectors (same weights) that this one lacks."""
        keys = [k for k in other._rows if k not in self._rows]
        rows = np.array([other._rows[k] for k in keys], np.int64)
        start = len(self._scales)
        self._codes = np.concatenate([self._codes, other._codes[rows]])
        self._scales = np.concatenate([self._scales, other._scales[rows]])
        self._rows.update({k: start + i for i, k in enumerate(keys)})

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        codes, scales = quantize(vectors)
        start = len(self._scales)
        self._codes = np.concatenate([self._codes, codes])
        self._scales = np.concatenate([self._scales, scales])
        for offset, text in enumerate(texts):
            self._rows[text_key(text)] = start + offset

    def get(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, float32 unit rows; zeros where not found)."""
        rows = np.array([self._rows.get(text_key(t), -1) for t in texts], np.int64)
        found = rows >= 0
        out = np.zeros((len(texts), self.dim), np.float32)
        picked = rows[found]
        out[found] = self._codes[picked].astype(np.float32) * self._scales[picked][:, None]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return found, out / np.maximum(norms, 1e-12)

    def passages(
        self,
        embed: Callable[[Sequence[str]], np.ndarray],
        texts: Sequence[str],
        on_batch: Callable[[int], None] = lambda done: None,
    ) -> np.ndarray:
        """Every text's vector: looked up, or embedded now (in batches) and remembered."""
        found, _ = self.get(texts)
        missing = list(dict.fromkeys(t for t, hit in zip(texts, found, strict=True) if not hit))
        for start in range(0, len(missing), BATCH):
            chunk = missing[start : start + BATCH]
            self.add(chunk, embed(chunk))
            on_batch(start + len(chunk))
        return self.get(texts)[1]


def shipped_vectors(model_hash: str) -> VectorCache | None:
    """The package's precomputed vectors of the demo's texts, when made by these weights."""
    for name in SHIPPED_VECTORS:
        if found := load_shipped(name, lambda path: VectorCache.load(path, model_hash)):
            return found
    return None
