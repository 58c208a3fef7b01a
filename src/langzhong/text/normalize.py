"""Search-side normalisation that keeps every character at its offset.

The stored text keeps what the page said; search compares normalised forms. Because the
normalised string has the same length as the original, a match found in one marks the same
characters in the other (that is how highlights land on the page's own words).
"""

from __future__ import annotations

import functools
from importlib import resources

import opencc

# Full-width ASCII (！ … ～) to half-width, and the ideographic space to a plain one.
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@functools.cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@functools.cache
def _typos() -> tuple[tuple[str, str], ...]:
    """Same-length misspellings seen on crawled pages (data/typos.tsv), e.g. 崁顿 → 嵌顿."""
    pairs = []
    text = resources.files("langzhong.data").joinpath("typos.tsv").read_text("utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        wrong, right = line.split("\t")[:2]
        if len(wrong) != len(right):
            raise ValueError(f"typos.tsv: {wrong!r} → {right!r} must keep the length")
        pairs.append((wrong, right))
    return tuple(pairs)


def _simplify(text: str) -> str:
    converted = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    # A phrase conversion changed the length: fall back to character by character.
    return "".join(c if len(c := _converter().convert(ch)) == 1 else ch for ch in text)


def normalize(text: str) -> str:
    """Half-width, lower-case, simplified Chinese, typos fixed; ``len(result) == len(text)``."""
    folded = text.translate(_WIDTH)
    lowered = folded.lower()
    if len(lowered) != len(folded):  # e.g. 'İ' lowers to two characters
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in folded)
    simplified = _simplify(lowered)
    for wrong, right in _typos():
        simplified = simplified.replace(wrong, right)
    return simplified
