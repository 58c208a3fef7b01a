"""The raw responses of a crawl, kept as WARC files so that pages can be extracted again after
the parser improves (``langzhong ingest --from-archive``) without fetching them again.

Bodies are stored as received after HTTP's own content coding was undone (httpx decodes gzip
and brotli), so the archived headers drop Content-Encoding and Transfer-Encoding.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from langzhong.core import Article
from langzhong.crawl.fetch import Response
from langzhong.crawl.page import read_fetched
from langzhong.ingest.sources import Rejection

DROPPED_HEADERS = ("content-encoding", "transfer-encoding", "content-length")
WARC_SUFFIXES = (".warc", ".warc.gz")


@dataclass(frozen=True)
class ArchivedPage:
    url: str
    content_type: str
    body: bytes


class Archive:
    """One WARC file per crawl run, in the home's archive folder, written record by record."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._file: BinaryIO | None = None
        self._writer: WARCWriter | None = None

    def write(self, response: Response) -> None:
        if self._file is None or self._writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            path = self.folder / f"crawl-{stamp}-{os.getpid()}.warc.gz"
            self._file = path.open("ab")
            self._writer = WARCWriter(self._file, gzip=True)
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in DROPPED_HEADERS
        ]
        record = self._writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(response.body),
            length=len(response.body),
            http_headers=StatusAndHeaders(str(response.status), headers, protocol="HTTP/1.1"),
        )
        self._writer.write_record(record)
        self._file.flush()  # a killed crawl keeps every record it finished

    def close(self) -> None:
        if self._file:
            self._file.close()


def warc_files(paths: Iterable[Path]) -> Iterator[Path | Rejection]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.name.endswith(WARC_SUFFIXES))
        elif path.is_file():
            yield path
        else:
            yield Rejection(str(path), "no such file or directory")


def read_archive(paths: Iterable[Path]) -> Iterator[ArchivedPage | Rejection]:
    """The successful responses archived in WARC files (or folders of them), oldest first; a
    damaged file (a crawl killed mid-record) yields what precedes the damage, then a Rejection."""
    for path in warc_files(paths):
        if isinstance(path, Rejection):
            yield path
            continue
        try:
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    if record.rec_type != "response" or record.http_headers is None:
                        continue
                    if record.http_headers.get_statuscode() != "200":
                        continue
                    yield ArchivedPage(
                        record.rec_headers.get_header("WARC-Target-URI"),
                        record.http_headers.get_header("Content-Type") or "",
                        record.content_stream().read(),
                    )
        except (ArchiveLoadFailed, OSError, EOFError, ValueError) as error:
            yield Rejection(str(path), f"damaged archive ({type(error).__name__}: {error})")


def archived_articles(paths: Iterable[Path]) -> Iterator[Article | Rejection]:
    """The articles of archived pages, read as the crawler reads a page it fetches now."""
    for page in read_archive(paths):
        if isinstance(page, Rejection):
            yield page
        else:
            yield from read_fetched(page.url, page.body, page.content_type).items
