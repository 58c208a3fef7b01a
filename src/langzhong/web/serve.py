"""Running the web app: one process, or one per core, each listening on the same port.

Python answers one request at a time per process, so more cores need more processes. Each
worker opens its own listening socket with SO_REUSEPORT and the kernel spreads new connections
over them. (uvicorn's own ``--workers`` shares one socket instead: whichever worker wakes first
accepts every waiting connection, and keep-alive clients then stay on it — measured: all 8
connections of a load test on one of two workers in two runs out of three.)
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import deque
from contextlib import nullcontext
from multiprocessing.process import BaseProcess
from pathlib import Path

import uvicorn

from langzhong.parent_watch import stop_when_orphaned
from langzhong.web.connections import BoundedHttp, raise_open_files_limit

APP = "langzhong.web.app:app_from_environment"  # each worker opens the store itself
# Told to stop, a process gives the requests in flight this long, then closes its store and
# exits; a worker still there after STOP_GRACE_S is killed.
DRAIN_S = 5
STOP_GRACE_S = 10.0
# A worker that dies is replaced, unless workers keep dying: then the server stops.
RESTARTS_ALLOWED = 5
RESTART_WINDOW_S = 60.0


def claim_port(host: str, port: int) -> socket.socket | nullcontext[None]:
    """The port for this server alone, held until the returned object is closed (a ``with``);
    OSError when another process listens there.

    Workers share the port with SO_REUSEPORT, which the kernel grants any process of the same
    user: a second server would silently take part of the connections. So a probe bound without
    SO_REUSEPORT must succeed (nothing listens there yet), and on Linux an abstract Unix socket
    named after the port, held while serving and dropped by the kernel with the process, decides
    between two servers starting at once."""
    if sys.platform != "linux":
        listener(host, port).close()
        return nullcontext()
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lock.bind(f"\0langzhong-serve-port-{port}")  # EADDRINUSE, as the port's own bind
        listener(host, port).close()
    except OSError:
        lock.close()
        raise
    return lock


def listener(host: str, port: int, share_port: bool = False) -> socket.socket:
    """A TCP listening socket made here rather than by uvicorn: uvicorn's leaves the protocol
    unset, so connections keep Nagle's algorithm and each keep-alive response waits ~40 ms for
    a delayed ACK (uvicorn issue #3149)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _config(proxies: str) -> uvicorn.Config:
    """``proxies``: the addresses whose X-Forwarded-For is believed (none by default: any
    local process could otherwise pick the client address the rate limit counts)."""
    return uvicorn.Config(
        APP,
        factory=True,
        http=BoundedHttp,
        log_level="warning",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        timeout_graceful_shutdown=DRAIN_S,
    )


def _worker(host: str, port: int, proxies: str, parent: int) -> None:
    stop_when_orphaned(parent)
    uvicorn.Server(_config(proxies)).run(sockets=[listener(host, port, share_port=True)])


def _say(message: str) -> None:
    print(f"langzhong: {message}", file=sys.stderr, flush=True)


def _metrics_folder() -> tuple[Path, bool]:
    """The folder where the workers' metrics meet (web/metrics.py), set in the environment
    before prometheus_client is imported: the operator's (emptied: values of a past run would
    add up with these), else a new one; and whether it is ours to remove at the end."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return folder, False
    folder = Path(tempfile.mkdtemp(prefix="langzhong-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder, True


def run(host: str, port: int, workers: int, proxies: str = "") -> int:
    """Serve until stopped (Ctrl-C or SIGTERM); returns the exit status. A worker that dies
    (killed, or exiting on its own) is logged and replaced."""
    raise_open_files_limit()  # before the workers start: they inherit it
    folder, ours = _metrics_folder()
    try:
        return _supervise(host, port, workers, proxies)
    finally:
        if ours:
            shutil.rmtree(folder, ignore_errors=True)


def _supervise(host: str, port: int, workers: int, proxies: str) -> int:
    if workers == 1:
        uvicorn.Server(_config(proxies)).run(sockets=[listener(host, port)])
        return 0
    from prometheus_client import multiprocess

    context = multiprocessing.get_context("spawn")

    def start(n: int) -> BaseProcess:
        process = context.Process(
            target=_worker, args=(host, port, proxies, os.getpid()), name=f"worker-{n}"
        )
        process.start()
        return process

    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    processes = [start(n) for n in range(workers)]
    restarts: deque[float] = deque(maxlen=RESTARTS_ALLOWED)
    failed = False
    while not stopping.wait(0.5):
        for n, process in enumerate(processes):
            if process.is_alive():
                continue
            _say(f"worker-{n} (pid {process.pid}) exited with code {process.exitcode}")
            multiprocess.mark_process_dead(process.pid)  # its gauges go; its counts stay
            now = time.monotonic()
            if len(restarts) == RESTARTS_ALLOWED and now - restarts[0] < RESTART_WINDOW_S:
                _say(f"{RESTARTS_ALLOWED} restarts within {RESTART_WINDOW_S:.0f} s; stopping")
                failed = True
                stopping.set()
                break
            restarts.append(now)
            processes[n] = start(n)
            _say(f"worker-{n} restarted (pid {processes[n].pid})")
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes its requests and closes the store
    for process in processes:
        process.join(STOP_GRACE_S)
        if process.is_alive():
            process.kill()
    return 1 if failed else 0
