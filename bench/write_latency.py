"""How long one API write takes while another process bulk-ingests into the same store.

Usage: python bench/write_latency.py [--rows 20000] [--json OUT]
Serves a store holding the seed page (2 workers, write token set), starts `langzhong ingest` of
ROWS question/answer rows (the bundled demo rows, repeated under new ids) in another process,
and meanwhile POSTs one article every 0.2 s: each write's latency, and whether the article is
found by its exact title right after the write returns. Reports the latencies during the
ingest and after it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import httpx

TOKEN = "bench-write-latency-token"
DEMO = resources.files("langzhong.demo")


def _rows(count: int) -> list[str]:
    with gzip.open(DEMO.joinpath("medical-dialogue-im.jsonl.gz").open("rb"), "rt") as lines:
        base = [json.loads(line) for line in lines]
    return [
        json.dumps(
            {**row, "id": f"bulk-{n}", "title": f"{row['title']}（{n}）"}, ensure_ascii=False
        )
        for n, row in zip(range(count), (base[i % len(base)] for i in range(count)), strict=True)
    ]


def _serve(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "LANGZHONG_HOME": str(home), "LANGZHONG_API_TOKEN": TOKEN}
    env["LANGZHONG_RATE_LIMIT"] = "0"
    server = subprocess.Popen(
        [sys.executable, "-m", "langzhong", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _write(client: httpx.Client, n: int) -> tuple[float, bool]:
    title = f"写入延迟测试第{n}篇：膝关节术后康复锻炼"
    started = time.perf_counter()
    response = client.post("/api/articles", json={"title": title, "lead": f"第{n}篇内容。"})
    seconds = time.perf_counter() - started
    response.raise_for_status()
    hits = client.get("/api/search", params={"q": title}).json()["hits"]
    return seconds, bool(hits) and hits[0]["title"] == title


def _summary(samples: list[tuple[float, bool]]) -> dict:
    if not samples:
        return {"writes": 0}
    ms = sorted(s * 1000 for s, _ in samples)
    return {
        "writes": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[max(0, int(len(ms) * 0.95) - 1)], 1),
        "max_ms": round(ms[-1], 1),
        "found_at_once": sum(found for _, found in samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "LANGZHONG_HOME": str(home), "LANGZHONG_MAX_FILE_MB": "4096"}
        with resources.as_file(DEMO.joinpath("000_11c99a0e30aa1c9d.txt")) as seed:
            subprocess.run(
                [sys.executable, "-m", "langzhong", "ingest", str(seed)],
                env=env,
                check=True,
                capture_output=True,
            )
        bulk = Path(tmp) / "bulk.jsonl"
        bulk.write_text("\n".join(_rows(args.rows)) + "\n", "utf-8")
        server = _serve(home, args.port)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{args.port}", headers=headers, timeout=120
        )
        during, after, n = [], [], 0
        try:
            started = time.perf_counter()
            errors = Path(tmp) / "ingest.log"
            ingest = subprocess.Popen(
                [sys.executable, "-m", "langzhong", "ingest", str(bulk)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=errors.open("w"),
            )
            while ingest.poll() is None:
                during.append(_write(client, n := n + 1))
                time.sleep(0.2)
            ingest_s = time.perf_counter() - started
            if ingest.returncode != 0 or "error:" in errors.read_text():
                raise RuntimeError("the bulk ingest failed")
            for _ in range(20):
                after.append(_write(client, n := n + 1))
        finally:
            client.close()
            server.terminate()
            server.wait()
    report = {
        "rows": args.rows,
        "ingest_seconds": round(ingest_s, 1),
        "during_ingest": _summary(during),
        "after_ingest": _summary(after),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
