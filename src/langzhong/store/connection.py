"""What the stores' shared statements need of a connection: SQLite's own, or
``PostgresConnection`` (which takes the same statements)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class Rows(Protocol):
    """A statement's result, as both databases' cursors give it."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...  # the columns' names first

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    def execute(self, statement: str, args: Any = (), /) -> Rows: ...

    def executemany(self, statement: str, rows: Any, /) -> object: ...

    def close(self) -> None: ...
