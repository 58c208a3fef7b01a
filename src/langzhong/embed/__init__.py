"""Embed stage: sentence embeddings behind one small interface (``Embedder``), the e5 model first,
and the vectors already computed, kept by a hash of the text they were made from."""

from langzhong.embed.base import Embedder, EmbedderUnavailable
from langzhong.embed.vectors import VectorCache

__all__ = ["Embedder", "EmbedderUnavailable", "VectorCache"]
