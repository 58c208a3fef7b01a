"""Bytes to text: UTF-8 first, then GB18030 (a superset of GBK/GB2312), then a detector."""

from __future__ import annotations

import charset_normalizer


class UnreadableInput(ValueError):
    """The input cannot become text: the message is the one-line reason shown to the user."""


def looks_binary(raw: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KiB mean this is not a text page."""
    head = raw[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > len(head) * 0.05


def decode_text(raw: bytes) -> str:
    """Decode a crawled page; raise UnreadableInput with a short reason when it is not text."""
    if not raw.strip():
        raise UnreadableInput("empty file")
    if looks_binary(raw):
        raise UnreadableInput("binary file (expected a text page, HTML or JSONL)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = charset_normalizer.from_bytes(raw).best()
    if best is None:
        raise UnreadableInput("cannot tell the text encoding")
    return str(best)
