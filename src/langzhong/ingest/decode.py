"""Bytes to text: a byte-order mark, then the charset the server or the page's own ``<meta
charset>`` names, then strict UTF-8, then the more plausible of the Chinese encodings (GB18030
accepts almost any bytes, so Big5 is weighed against it rather than tried after it).

A named charset is a claim the body must bear out: one that does not decode it cleanly is
ignored, a single-byte one (``iso-8859-1`` decodes any bytes) proves nothing about a body that is
not ASCII, and when the header and the ``<meta>`` disagree the body decides between them."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

BOMS = (  # UTF-32's marks first: UTF-16 LE's is a prefix of UTF-32 LE's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# What pages declare, decoded with the superset that browsers use for it.
SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "cp950", "x-gbk": "gb18030"}
CHINESE = ["gb18030", "cp950"]


class UnreadableInput(ValueError):
    """The input cannot become text: the message is the one-line reason shown to the user."""


def looks_binary(raw: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KiB mean this is not a text page."""
    head = raw[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > len(head) * 0.05


def _strict(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _declared(raw: bytes) -> str | None:
    """The encoding an HTML page names in its first 4 KiB, if any."""
    found = META_CHARSET.search(raw[:4096])
    if not found:
        return None
    name = found.group(1).decode("ascii").lower()
    return SUPERSETS.get(name, name)


def charset_of(content_type: str | None) -> str | None:
    """The charset an HTTP ``Content-Type`` names ("text/html; charset=GBK" → gb18030)."""
    found = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type or "", re.I)
    return SUPERSETS.get(found.group(1).lower(), found.group(1).lower()) if found else None


def _single_byte(encoding: str) -> bool:
    """A Latin or other one-byte charset: it cannot spell Chinese, and decodes any bytes."""
    try:
        "中".encode(encoding)
    except UnicodeEncodeError:
        return True
    return False


def _codec(encoding: str) -> str:
    return codecs.lookup(encoding).name


def _named(raw: bytes, declared: str | None) -> str | None:
    """The body decoded in the charset its labels name, when the body bears the label out."""
    labels = dict.fromkeys(e for e in (declared, _declared(raw)) if e)
    clean = {e: text for e in labels if (text := _strict(raw, e)) is not None}
    telling = [e for e in clean if raw.isascii() or not _single_byte(e)]
    if len({_codec(e) for e in telling}) == 1:
        return clean[telling[0]]
    if telling:  # the header and the <meta> disagree, and both decode: the body decides
        best = charset_normalizer.from_bytes(raw, cp_isolation=telling).best()
        return str(best) if best else clean[telling[0]]
    return None


def decode_text(raw: bytes, declared: str | None = None) -> str:
    """Decode a crawled page; raise UnreadableInput with a short reason when it is not text.

    ``declared``: the encoding the server named (HTTP ``Content-Type``)."""
    if not raw.strip():
        raise UnreadableInput("empty file")
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            text = _strict(raw, encoding)
            if text is None:
                raise UnreadableInput(f"not valid {encoding} despite its byte-order mark")
            return text
    if looks_binary(raw):
        raise UnreadableInput("binary file (expected a text page, HTML or JSONL)")
    for text in (_named(raw, declared), _strict(raw, "utf-8")):
        if text is not None:
            return text
    best = charset_normalizer.from_bytes(raw, cp_isolation=CHINESE).best()
    best = best or charset_normalizer.from_bytes(raw).best()
    if best is None:
        raise UnreadableInput("cannot tell the text encoding")
    return str(best)
