"""Files on disk to articles: find the files, check them, decode them, pick the right parser.

Every problem becomes a ``Rejection`` naming the file (and line) with a one-line reason; a bad
file or line never stops the others.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from langzhong.core import Article
from langzhong.ingest.decode import UnreadableInput, decode_text
from langzhong.ingest.html import looks_like_html, parse_html
from langzhong.ingest.pages import NotAPage, parse_page
from langzhong.ingest.records import BadRecord, invalid, record_articles

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
    """Files named, and the files under directories named (sorted, hidden ones skipped).

    Inside a directory a symbolic link is followed only to a file inside that directory: a
    crawl folder must not pull in /etc/hostname, and a link to a folder (a loop, or elsewhere)
    is reported, not walked."""
    for path in paths:
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            yield path
        else:
            yield Rejection(str(path), "no such file or directory")


def _walk(root: Path) -> Iterator[Path | Rejection]:
    top = root.resolve()
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files) + [n for n in folders if (Path(folder) / n).is_symlink()]:
            child = Path(folder) / name
            if name.startswith("."):
                continue
            if child.is_symlink():
                target = child.resolve()
                if target.is_dir():
                    yield Rejection(str(child), "symbolic link to a folder, not followed")
                    continue
                if not target.is_relative_to(top):
                    yield Rejection(str(child), f"symbolic link leads outside {root}, not followed")
                    continue
            if child.is_file():
                yield child


def _jsonl_lines(raw: bytes, max_bytes: int) -> Iterator[tuple[int, bytes]]:
    """Numbered non-blank lines; decompressed bytes are counted as they stream and no read asks
    for more than the limit allows, so one endless line costs at most the limit in memory."""
    stream: io.BufferedIOBase = io.BytesIO(raw)
    if raw.startswith(GZIP_MAGIC):
        stream = gzip.GzipFile(fileobj=stream)
    seen = number = 0
    while line := stream.readline(max_bytes - seen + 1):
        number += 1
        seen += len(line)
        if seen > max_bytes:
            raise UnreadableInput(f"decompressed data over the {max_bytes >> 20} MB limit")
        if line.strip():
            yield number, line


def _records(
    where: str,
    raw: bytes,
    max_bytes: int,
    source: str | None,
    on_record: Callable[[Any], None] = lambda record: None,
) -> Iterator[Article | Rejection]:
    for number, line in _jsonl_lines(raw, max_bytes):
        try:
            record = json.loads(decode_text(line))
            on_record(record)
            articles = record_articles(record, source)
        except json.JSONDecodeError as error:
            yield Rejection(f"{where}:{number}", f"invalid JSON ({error.msg})")
        except (BadRecord, NotAPage, UnreadableInput) as error:
            yield Rejection(f"{where}:{number}", str(error))
        except ValidationError as error:
            yield Rejection(f"{where}:{number}", str(invalid(error)))
        except RecursionError:
            yield Rejection(f"{where}:{number}", "JSON nested too deeply")
        except Exception as error:  # the record boundary: one line never stops the others
            yield Rejection(f"{where}:{number}", f"unreadable record ({type(error).__name__})")
        else:
            yield from articles


def read_jsonl(
    path: Path, *, max_bytes: int, on_record: Callable[[Any], None] = lambda record: None
) -> Iterator[Article | Rejection]:
    """The articles of a JSON-lines file (plain or gzipped) whatever its name says;
    ``on_record`` sees each line's JSON value first (a backup's vectors, ``backup.py``)."""
    try:
        yield from _records(str(path), path.read_bytes(), max_bytes, None, on_record)
    except (UnreadableInput, OSError, EOFError, gzip.BadGzipFile) as error:
        yield Rejection(str(path), str(error) or type(error).__name__)


def _page_articles(text: str, *, source: str | None, url: str | None = None) -> list[Article]:
    if looks_like_html(text):
        return parse_html(text, source=source, url=url)
    return parse_page(text, source=source, url=url)


def _rejection(where: str, error: Exception) -> Rejection:
    if isinstance(error, ValidationError):
        return Rejection(where, str(invalid(error)))
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return Rejection(where, reason or type(error).__name__)


UNREADABLE = (UnreadableInput, NotAPage, BadRecord, OSError, EOFError, gzip.BadGzipFile)


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
        yield from _page_articles(decode_text(raw), source=source)
    except (ValidationError, *UNREADABLE) as error:
        yield _rejection(where, error)


def read_page(url: str, text: str, *, source: str | None = None) -> list[Article | Rejection]:
    """The articles of one fetched web page (a crawl, an archive), already decoded."""
    try:
        return list(_page_articles(text, source=source, url=url))
    except (ValidationError, *UNREADABLE) as error:
        return [_rejection(url, error)]
