"""Bounded HTTP load on ``langzhong serve`` over loopback: req/s, errors, latency, memory.

Usage: python -m langzhong.benchmark.http [--seconds 60] [--concurrency 32] [--home DIR]
                                          [--json OUT]
Starts its own server (rate limit off) on 127.0.0.1, warms it up, then sends real patient
questions (the bundled dataset's titles) over CONCURRENCY connections until SECONDS have passed:
with wrk (Debian's ``apt install wrk``; C, so the load costs the two cores little) when it is
installed, otherwise from Python threads, which compete with the server for the CPU.
Memory is the resident set of the server's processes (and their peaks), read from /proc after
the warm-up and at the
end. Nothing but loopback is ever addressed, and every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import httpx

WARM_UP_S = 5.0  # at most; a shorter measurement warms up for as long as it lasts


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (a server's workers); ones exiting meanwhile are
    left out."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            found.extend(process_tree(int(child)))
    return found


def _memory_mb(pid: int, field: str = "VmRSS") -> float:
    """Summed over the server's processes (for VmHWM, a sum of each one's peak)."""
    total = 0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith(f"{field}:"):
                total += int(line.split()[1])
    return total / 1024


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


WRK_SCRIPT = """
local questions = {%s}
offset, sent = 0, 0  -- globals: setup() gives each thread its own offset
function setup(thread) thread:set("offset", math.random(#questions)) end
function request()
  sent = sent + 1
  local q = questions[(offset + sent) %% #questions + 1]
  return wrk.format("GET", "/api/search?q=" .. q)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def _wrk(base: str, questions: list[str], concurrency: int, seconds: float, script: Path) -> dict:
    quoted = ",".join(f'"{urllib.parse.quote(q)}"' for q in questions)
    script.write_text(WRK_SCRIPT % quoted, "utf-8")
    done = subprocess.run(
        [
            "wrk",
            f"-t{min(concurrency, 2)}",
            f"-c{concurrency}",
            f"-d{max(int(seconds), 1)}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    requests, micros, errors, p50, p95, p99 = map(int, line.split()[1:])
    wall = micros / 1e6
    return {
        "seconds": round(wall, 1),
        "requests": requests,
        "rps": round(requests / wall, 1),
        "errors": errors,
        "p50_ms": round(p50 / 1000, 1),
        "p95_ms": round(p95 / 1000, 1),
        "p99_ms": round(p99 / 1000, 1),
        "generator": "wrk",
    }


def _python_load(url: str, questions: list[str], concurrency: int, seconds: float) -> dict:
    began = time.monotonic()
    latencies, errors = _hammer(url, questions, concurrency, seconds)
    wall = time.monotonic() - began
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "seconds": round(wall, 1),
        "requests": len(latencies),
        "rps": round(len(latencies) / wall, 1),
        "errors": errors,
        "p50_ms": round(cuts[49] * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "generator": "python threads",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(
    seconds: float,
    concurrency: int,
    home: Path,
    python_load: bool = False,
    dense: bool = False,
    settings: dict[str, str] | None = None,
) -> dict:
    """``python_load``: use the Python generator even where wrk is installed; ``dense``: the
    server searches with e5 too; ``settings``: more of its environment (another engine)."""
    return run_levels(seconds, [concurrency], home, python_load, dense, settings)[concurrency]


def run_levels(
    seconds: float,
    levels: Sequence[int],
    home: Path,
    python_load: bool = False,
    dense: bool = False,
    settings: dict[str, str] | None = None,
) -> dict[int, dict]:
    """``run`` at each concurrency of ``levels`` in turn, on one server: each level is warmed
    up at its own concurrency first; a level's peak memory is the server's peak so far."""
    port = _free_port()
    env = {
        **os.environ,
        "LANGZHONG_HOME": str(home),
        "LANGZHONG_RATE_LIMIT": "0",
        "LANGZHONG_DENSE": "on" if dense else "off",
        **(settings or {}),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "langzhong", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/search"
    results = {}
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
        server_processes = len(process_tree(server.pid))
        questions = _questions()
        with tempfile.TemporaryDirectory() as tmp:
            if shutil.which("wrk") and not python_load:
                script = Path(tmp) / "questions.lua"
                base = f"http://127.0.0.1:{port}"

                def load(duration: float, concurrency: int) -> dict:
                    return _wrk(base, questions, concurrency, duration, script)
            else:

                def load(duration: float, concurrency: int) -> dict:
                    return _python_load(url, questions, concurrency, duration)

            for concurrency in levels:
                # Warm up at the measured concurrency: the server's threads (and their memory)
                # exist before the baseline is read, so growth means growth, not start-up.
                load(min(WARM_UP_S, seconds), concurrency)
                rss_start = _memory_mb(server.pid)
                result = load(seconds, concurrency)
                rss_end = _memory_mb(server.pid)
                results[concurrency] = {
                    **result,
                    "concurrency": concurrency,
                    "server_processes": server_processes,
                    "rss_mb_after_warm_up": round(rss_start, 1),
                    "rss_mb_at_end": round(rss_end, 1),
                    "rss_growth_pct": (
                        round((rss_end / rss_start - 1) * 100, 1) if rss_start else None
                    ),
                    "rss_mb_peak": round(_memory_mb(server.pid, "VmHWM"), 1),
                }
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m langzhong.benchmark.http", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--home", type=Path, help="store to serve (default: a fresh demo store)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--python-load", action="store_true", help="never use wrk")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.seconds, args.concurrency, args.home or Path(tmp), args.python_load)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
