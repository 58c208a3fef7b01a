"""Locks that let one process at a time write a shared index; the operating system (or the
database server) lets go of them when their process dies, so a crash never leaves one held."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Protocol


class WriterLock(Protocol):
    """What every store's ``writer_lock`` gives: a lock taken without waiting."""

    def acquire(self) -> bool: ...

    def release(self) -> None: ...


class FileLock:
    """An advisory lock on a file beside the SQLite store: one machine's processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the file lets go of its lock
