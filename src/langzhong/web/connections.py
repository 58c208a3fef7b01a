"""Bounds on a server process's connections, which uvicorn leaves open as long as a client
likes: a connection that sends nothing, or never finishes its request head, holds a file
descriptor forever, and a few thousand of them leave none for anyone else.

Here a connection without a request in progress is closed after ``IDLE_S`` (from when it opened
or its last response ended, however slowly the head trickles in), and past a cap below the
process's descriptor limit the longest-idle connection is closed to make room for a new one
(nginx reuses its idle keep-alive connections the same way).
"""

from __future__ import annotations

import asyncio
import resource
from contextlib import suppress
from functools import cache
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

IDLE_S = 5.0  # uvicorn's own keep-alive timeout
# Descriptors kept for the store, the index's files, the model and the listening socket (a
# worker holds about 30).
RESERVED_FILES = 256
UNLIMITED_CONNECTIONS = 1 << 20  # where the descriptor limit is infinite: memory bounds it


def raise_open_files_limit() -> None:
    """The soft descriptor limit raised to the hard one (often 1,024 against 500,000 or more)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # macOS refuses an infinite soft limit: the default stays.
    with suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@cache
def connection_cap() -> int:
    """Connections this process keeps open at most (read once, after the limit is raised)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return UNLIMITED_CONNECTIONS
    return max(soft - RESERVED_FILES, soft // 2)


class BoundedHttp(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools), with the bounds above."""

    # Connections waiting for a request, longest-waiting first (one server per process).
    idle: ClassVar[dict[BoundedHttp, None]] = {}

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.idle_timer: asyncio.TimerHandle | None = None
        self._wait()
        if len(self.connections) > connection_cap():
            next(iter(self.idle))._close()  # this one when every other is busy

    def connection_lost(self, exc: Exception | None) -> None:
        self._busy()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._busy()  # a request: uvicorn's own handling from here
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # uvicorn waits for the next request
            self._wait()

    def _wait(self) -> None:
        self._busy()
        self.idle[self] = None
        self.idle_timer = self.loop.call_later(IDLE_S, self._close)

    def _busy(self) -> None:
        self.idle.pop(self, None)
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    def _close(self) -> None:
        self._busy()
        self.transport.close()
