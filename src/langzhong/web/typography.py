"""Chinese text set for reading on the pages; the stored text is never changed."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_LATIN = re.compile(rf"(?<=[{_CJK}])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[{_CJK}])")
_HALF_WIDTH = re.compile(rf"(?<=[{_CJK}])([,;:])(?=[{_CJK}])")
FULL_WIDTH = {",": "，", ";": "；", ":": "："}
THIN_SPACE = "\u2009"


def _punctuate(text: str) -> str:
    """Full-width , ; : between Chinese characters (one character for one: offsets hold)."""
    return _HALF_WIDTH.sub(lambda m: FULL_WIDTH[m.group(1)], text)


def display(text: str) -> str:
    """Chinese typography for reading, the stored text unchanged: a thin space between Chinese
    and Latin letters or digits (腰椎 CT), full-width , ; : between Chinese characters, no
    spaces at either end."""
    return _CJK_LATIN.sub(THIN_SPACE, _punctuate(text.strip()))


def marked(text: str, spans: tuple[tuple[int, int], ...]) -> Markup:
    """The text set for reading and escaped, with the highlight spans wrapped in <mark>. The
    rules see the whole text, so a thin space or a comma at a highlight's edge is set too (the
    space outside the mark)."""
    text = _punctuate(text)
    gaps = {m.start() for m in _CJK_LATIN.finditer(text)}

    def spaced(start: int, end: int) -> tuple[str, str]:
        inner = "".join(
            (THIN_SPACE if i in gaps and i > start else "") + text[i] for i in range(start, end)
        )
        return (THIN_SPACE if start in gaps else ""), inner

    parts, last = [], 0
    for start, end in [*spans, (len(text), len(text))]:
        before, plain = spaced(last, start)
        parts.append(escape(before + plain))
        if start < end:
            edge, inner = spaced(start, end)
            parts.append(escape(edge) + Markup("<mark>") + escape(inner) + Markup("</mark>"))
        last = end
    return Markup("").join(parts)
