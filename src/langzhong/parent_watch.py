"""Helper processes (segmenters, server workers) end when the process that started them does.

Python's multiprocessing leaves them running when their parent is killed outright (SIGKILL, an
out-of-memory kill): each would hold its memory, and a server worker its port, for nothing.
"""

from __future__ import annotations

import os
import signal
import threading
import time


def stop_when_orphaned(parent: int) -> None:
    """In a child: SIGTERM itself once ``parent`` is gone (checked every second)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
