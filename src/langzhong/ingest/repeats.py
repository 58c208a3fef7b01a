"""Removal of the repeated copies that crawls leave in a page (the seed holds its page twice)."""

from __future__ import annotations

# A repeated line is dropped when it sits in a run of at least this many repeated lines (a copied
# block), or when it is at least LONG_LINE characters (a copied paragraph). Short lines repeated on
# their own, such as a heading "1、原因" under two sections, stay.
MIN_RUN = 3
LONG_LINE = 20


def _key(line: str) -> str:
    return "".join(line.split())


def drop_repeated_blocks(lines: list[str]) -> list[str]:
    """``lines`` without the copies of lines and blocks seen earlier in the same page."""
    keys = [_key(line) for line in lines]
    seen: set[str] = set()
    repeated = []
    for key in keys:
        repeated.append(bool(key) and key in seen)
        seen.add(key)

    drop = [False] * len(lines)
    content = [i for i, key in enumerate(keys) if key]  # blank lines never break a run
    start = 0
    while start < len(content):
        end = start
        while end < len(content) and repeated[content[end]]:
            end += 1
        run = content[start:end]
        for i in run:
            drop[i] = len(run) >= MIN_RUN or len(keys[i]) >= LONG_LINE
        start = end + 1 if end == start else end
    return [line for line, dropped in zip(lines, drop, strict=True) if not dropped]
