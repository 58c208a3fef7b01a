"""The shared PostgreSQL store beside the embedded SQLite file, on the same corpus.

Usage: python bench/shared_store.py --store-url postgresql://… [--docs 100000] [--queries 300]
                                    [--json OUT]
The database named must be empty (it is filled). For each store, in this order: ingest DOCS
documents of `langzhong bench`'s corpus through the product's writer (tantivy index, e5 off),
then ask QUERIES of its questions through ``Service.asking``. Reports ingest documents/s, ask
p50/p95/p99, the store's size (the file, or ``pg_database_size``) and per million documents,
and the check a server on a shared store makes before every search (``Indexer.behind``).
Run both on a quiet machine: the figures are wall-clock.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from langzhong.benchmark.corpus import as_articles, build_corpus
from langzhong.benchmark.runner import percentiles
from langzhong.config import Settings
from langzhong.evaluation.dataset import bundled_data, load_rows
from langzhong.service import Service


def _measure(settings: Settings, docs: list, queries: list) -> dict:
    service = Service(settings)
    started = time.perf_counter()
    service.writing.write_articles(as_articles(docs))
    ingest_s = time.perf_counter() - started
    latencies = []
    for _, text in queries:
        began = time.perf_counter()
        service.asking.ask(text)
        latencies.append(time.perf_counter() - began)
    checks = []
    for _ in range(1000):
        began = time.perf_counter()
        service.indexer.behind()
        checks.append((time.perf_counter() - began) * 1000)
    size = service.store.size_bytes()
    result = {
        "store": service.store.describe(),
        "ingest_docs_per_s": round(len(docs) / ingest_s, 1),
        **{f"ask_{name}": value for name, value in percentiles(latencies).items()},
        "follow_check_p50_ms": round(statistics.median(checks), 3),
        "store_mb": round(size / 2**20, 1),
        "store_mb_per_million_docs": round(size / 2**20 * 1_000_000 / len(docs)),
        "change_log_rows": len(service.store.changes_after(0, 10 * len(docs))),
    }
    service.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-url", required=True)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    corpus = build_corpus(load_rows(bundled_data()), args.docs, args.queries)
    report = {"docs": len(corpus.docs), "queries": len(corpus.queries)}
    with tempfile.TemporaryDirectory() as tmp:
        base = replace(Settings.load(Path(tmp) / "sqlite"), dense=False, rate_limit_per_minute=0)
        report["sqlite"] = _measure(base, corpus.docs, corpus.queries)
        shared = replace(base, home=Path(tmp) / "postgres", store_url=args.store_url)
        report["postgresql"] = _measure(shared, corpus.docs, corpus.queries)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
