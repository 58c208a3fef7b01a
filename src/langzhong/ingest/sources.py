"""Files on disk to articles: find the files, check them, decode them, pick the right parser.

Every problem becomes a ``Rejection`` naming the file (and line) with a one-line reason; a bad
file or line never stops the others.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from langzhong.core import Article
from langzhong.ingest.decode import UnreadableInput, decode_text
from langzhong.ingest.html import looks_like_html, parse_html
from langzhong.ingest.pages import NotAPage, parse_page
from langzhong.ingest.records import BadRecord, record_articles

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".json")
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Rejection:
    """Input that was not ingested, and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def iter_files(paths: Iterable[Path]) -> Iterator[Path | Rejection]:
    """Files named, and the files under directories named (sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden:
                    yield child
        elif path.is_file():
            yield path
        else:
            yield Rejection(str(path), "no such file or directory")


def _jsonl_lines(raw: bytes, max_bytes: int) -> Iterator[tuple[int, bytes]]:
    stream: io.BufferedIOBase = io.BytesIO(raw)
    if raw.startswith(GZIP_MAGIC):
        stream = gzip.GzipFile(fileobj=stream)
    seen = 0
    for number, line in enumerate(stream, start=1):
        seen += len(line)
        if seen > max_bytes:
            raise UnreadableInput(f"decompressed data over the {max_bytes >> 20} MB limit")
        if line.strip():
            yield number, line


def _records(
    where: str, raw: bytes, max_bytes: int, source: str | None
) -> Iterator[Article | Rejection]:
    for number, line in _jsonl_lines(raw, max_bytes):
        try:
            yield from record_articles(json.loads(decode_text(line)), source)
        except json.JSONDecodeError as error:
            yield Rejection(f"{where}:{number}", f"invalid JSON ({error.msg})")
        except (BadRecord, NotAPage, UnreadableInput) as error:
            yield Rejection(f"{where}:{number}", str(error))


def read_jsonl(path: Path, *, max_bytes: int) -> Iterator[Article | Rejection]:
    """The articles of a JSON-lines file (plain or gzipped) whatever its name says."""
    try:
        yield from _records(str(path), path.read_bytes(), max_bytes, None)
    except (UnreadableInput, OSError, EOFError, gzip.BadGzipFile) as error:
        yield Rejection(str(path), str(error) or type(error).__name__)


def read_file(
    path: Path, *, max_bytes: int, source: str | None = None
) -> Iterator[Article | Rejection]:
    """The articles of one file, with a Rejection for the file or for each bad line in it."""
    where = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            yield Rejection(
                where, f"file too large: {size / 2**20:.1f} MB (limit {max_bytes >> 20} MB)"
            )
            return
        raw = path.read_bytes()
        name = path.name.lower()
        if raw.startswith(GZIP_MAGIC) or name.endswith(JSONL_SUFFIXES):
            yield from _records(where, raw, max_bytes, source)
            return
        text = decode_text(raw)
        if looks_like_html(text):
            yield from parse_html(text, source=source)
        else:
            yield from parse_page(text, source=source)
    except (UnreadableInput, NotAPage, BadRecord, OSError, EOFError, gzip.BadGzipFile) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        yield Rejection(where, reason or type(error).__name__)
