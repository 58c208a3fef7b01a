"""Bounded HTTP load on ``langzhong serve`` over loopback: req/s, errors, latency, memory.

Starts its own server (rate limit off) on 127.0.0.1, warms it up, then sends real patient
questions (the bundled dataset's titles) from CONCURRENCY threads until SECONDS have passed.
Memory is the server's resident set (and its peak), read from /proc after the warm-up and at the
end. Nothing but loopback is ever addressed, and every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path

import httpx

WARM_UP_S = 5.0


def _memory_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _questions(limit: int = 1000) -> list[str]:
    data = resources.files("langzhong.demo").joinpath("medical-dialogue-im.jsonl.gz")
    with gzip.open(str(data), "rt", encoding="utf-8") as lines:
        return [json.loads(line)["title"] for _, line in zip(range(limit), lines, strict=False)]


def _hammer(
    url: str, questions: list[str], concurrency: int, seconds: float
) -> tuple[list[float], int]:
    """Send questions from ``concurrency`` threads for ``seconds``; latencies and error count."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(offset: int) -> None:
        with httpx.Client(timeout=30) as client:
            i = offset
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    response = client.get(url, params={"q": questions[i % len(questions)]})
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors[0] += not ok
                i += concurrency

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(seconds: float, concurrency: int, home: Path) -> dict:
    port = _free_port()
    env = {**os.environ, "LANGZHONG_HOME": str(home), "LANGZHONG_RATE_LIMIT": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "langzhong", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/search"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.2)
        questions = _questions()
        # Warm up at the measured concurrency: the server's worker threads (and their memory)
        # exist before the baseline is read, so growth means growth, not start-up.
        _hammer(url, questions, concurrency, WARM_UP_S)
        rss_start = _memory_mb(server.pid)
        began = time.monotonic()
        latencies, errors = _hammer(url, questions, concurrency, seconds)
        wall = time.monotonic() - began
        rss_end = _memory_mb(server.pid)
        rss_peak = _memory_mb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=10)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "seconds": round(wall, 1),
        "concurrency": concurrency,
        "requests": len(latencies),
        "rps": round(len(latencies) / wall, 1),
        "errors": errors,
        "p50_ms": round(cuts[49] * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "rss_mb_after_warm_up": round(rss_start, 1),
        "rss_mb_at_end": round(rss_end, 1),
        "rss_growth_pct": round((rss_end / rss_start - 1) * 100, 1) if rss_start else None,
        "rss_mb_peak": round(rss_peak, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--home", type=Path, help="store to serve (default: a fresh demo store)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.seconds, args.concurrency, args.home or Path(tmp))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if result["errors"]:
        sys.exit(1)
