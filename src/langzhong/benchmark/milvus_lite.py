"""A local ``milvus-lite server``: Milvus's gRPC protocol from one Python process, for trying
the Milvus engine and for ``langzhong bench --engine milvus`` where no Milvus is given. It is a
test server, not Milvus's performance: figures measured on it check the code path only."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

READY_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MilvusLite:
    """The server on loopback, its data under ``folder``; ``stop`` and ``start`` keep the data."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, _free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = folder / "milvus-lite.log"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        where = ["--data-dir", str(self.folder / "milvus-data"), "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", *where, "--port", str(self.port)],
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        from pymilvus import MilvusClient, MilvusException

        deadline = time.monotonic() + READY_S
        while True:  # until it answers a request, not only accepts connections
            try:
                client = MilvusClient(uri=self.uri, timeout=2, dedicated=True)
                client.list_collections(timeout=2)
                client.close()
                return
            except MilvusException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"milvus-lite did not start: {self.log.read_text()}"
                    ) from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None
