"""Measure langzhong and its peers on one corpus, each engine in a fresh process of its own.

A fresh (spawned) process per engine makes peak RSS that engine's own, not the harness's.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from langzhong.benchmark.corpus import SEED, BenchCorpus, as_articles
from langzhong.evaluation.metrics import evaluate

if TYPE_CHECKING:  # imported by the measuring process, not by the one that spawns it
    from langzhong.service import Service

HTTP_CONCURRENCY = (1, 8, 32)


def percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {f"p{p}_ms": round(cuts[p - 1] * 1000, 2) for p in (50, 95, 99)}


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _docs(work: Path) -> Iterator[tuple[str, str]]:
    """The corpus, streamed: an engine holds in memory only what it keeps itself."""
    with (work / "docs.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            doc, text = json.loads(line)
            yield doc, text


def _questions(work: Path) -> tuple[list, dict]:
    data = json.loads((work / "questions.json").read_text("utf-8"))
    return data["queries"], data["qrels"]


def _peer(name: str, work: Path, n_docs: int) -> dict:
    from langzhong.benchmark.engines import PEERS

    queries, qrels = _questions(work)
    engine = PEERS[name]()
    started = time.perf_counter()
    engine.index(_docs(work))
    indexing = time.perf_counter() - started
    latencies, run = [], {}
    for qid, text in queries:
        began = time.perf_counter()
        hits = engine.query(text)
        latencies.append(time.perf_counter() - began)
        run[qid] = dict(hits)
    return {
        "index_docs_per_s": round(n_docs / indexing, 1),
        "index_seconds": round(indexing, 3),
        **percentiles(latencies),
        "rss_mb": _peak_rss_mb(),
        "disk_mb": round(engine.disk_bytes() / 2**20, 1),
        **{k: round(v, 4) for k, v in evaluate(qrels, run).items()},
    }


def _langzhong(work: Path, home: Path, n_docs: int, dense: bool, env: dict[str, str]) -> dict:
    """Ingest through the product's writer, answer through ``Service.asking.ask`` (passages
    included); ``dense``: with e5 retrieval, every document given a vector first
    (``_stand_in_vectors``); ``env``: settings of this run (another engine)."""
    from langzhong.config import Settings
    from langzhong.service import Service

    queries, qrels = _questions(work)
    os.environ["LANGZHONG_DENSE"] = "on" if dense else "off"
    os.environ.update(env)
    service = Service(Settings.load(home))
    started = time.perf_counter()
    service.writing.write_articles(as_articles(_docs(work)), embed=False)  # stand-ins follow
    indexing = time.perf_counter() - started
    vectors = _stand_in_vectors(service, [t for _, t in _docs(work)]) if dense else {}
    started = time.perf_counter()
    service.asking.warm_up()  # as a server does before its first question (e5, the vector graph)
    warm_up = time.perf_counter() - started
    latencies = []
    calls = service.asking.index_calls()
    for _, text in queries:
        began = time.perf_counter()
        service.asking.ask(text)
        latencies.append(time.perf_counter() - began)
    # requests to a shared index server (Milvus) a question cost; 0 for an index in the home
    calls_per_question = round((service.asking.index_calls() - calls) / max(len(queries), 1), 2)
    run = {
        qid: {c.article.id: c.score for c in service.searcher.search(text).candidates}
        for qid, text in queries
    }
    service.close()
    disk = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    return {
        "index_docs_per_s": round(n_docs / indexing, 1),
        "index_seconds": round(indexing, 3),
        **percentiles(latencies),
        "index_calls_per_question": calls_per_question,
        "rss_mb": _peak_rss_mb(),
        "disk_mb": round(disk / 2**20, 1),
        **vectors,
        "warm_up_seconds": round(warm_up, 1),
        **{k: round(v, 4) for k, v in evaluate(qrels, run).items()},
    }


def _stand_in_vectors(service: Service, texts: list[str]) -> dict:
    """Every document's e5 vector: the real one for the real answers (shipped), and for a
    recombined document the vector of a real answer picked at random. Embedding 100k documents
    would take about 40 min on 2 cores; a search's cost does not depend on the values, but the
    quality figures with these stand-ins mean nothing past the real documents."""
    from langzhong.embed.vectors import VectorCache
    from langzhong.index.embedding import Embedding
    from langzhong.store.vectors import VectorTable

    known = service.vectors.job().known
    assert known is not None and service.embedder is not None
    found, vectors = known.get(texts)
    picks = np.random.default_rng(SEED).choice(np.flatnonzero(found), int((~found).sum()))
    stand_ins = VectorCache(known.model_hash, known.dim)
    stand_ins.add([t for t, hit in zip(texts, found, strict=True) if hit], vectors[found])
    stand_ins.add([t for t, hit in zip(texts, found, strict=True) if not hit], vectors[picks])
    started = time.perf_counter()
    table = VectorTable(service.store)
    Embedding(service.store, table, service.embedder, stand_ins).catch_up(new_limit=0)
    return {
        "real_vectors": int(found.sum()),
        "stand_in_vectors": int((~found).sum()),
        "vectors_load_seconds": round(time.perf_counter() - started, 1),
    }


def _in_fresh_process(target: Callable[..., dict], *args: object) -> dict:
    # Not multiprocessing.Pool: its daemonic workers could not start langzhong's segmenters.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(target, *args).result()


def _cold_start_seconds(home: Path, question: str, dense: bool, settings: dict[str, str]) -> float:
    env = {
        **os.environ,
        "LANGZHONG_HOME": str(home),
        "LANGZHONG_DENSE": "on" if dense else "off",
        **settings,
    }
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "langzhong", "ask", question, "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    return round(time.perf_counter() - started, 2)


def run_bench(
    corpus: BenchCorpus,
    work: Path,
    peers: list[str],
    http_seconds: float,
    on_step: Callable[[str], None] = lambda step: None,
    dense: bool = False,
    milvus_uri: str | None = None,
    milvus_timeout_s: int = 3,
) -> dict:
    """``dense``: langzhong with e5 retrieval too (``langzhong+e5``), its HTTP load beside the
    lexical one's; ``milvus_uri``: langzhong on that Milvus too (``langzhong (milvus)``)."""
    from langzhong.benchmark.http import run_levels

    with (work / "docs.jsonl").open("w", encoding="utf-8") as lines:
        for doc in corpus.docs:
            lines.write(json.dumps(doc, ensure_ascii=False) + "\n")
    (work / "questions.json").write_text(
        json.dumps({"queries": corpus.queries, "qrels": corpus.qrels}), "utf-8"
    )
    home = work / "home"
    n_docs = len(corpus.docs)
    report: dict = {
        "n_docs": len(corpus.docs),
        "real_docs": corpus.real_docs,
        "recombined_docs": len(corpus.docs) - corpus.real_docs,
        "text_mb": round(corpus.text_bytes / 2**20, 1),
        "n_queries": len(corpus.queries),
        "systems": {},
    }
    runs: dict[str, tuple[Path, bool, dict[str, str]]] = {"langzhong": (home, False, {})}
    if dense:
        runs = {"langzhong+e5": (work / "home-e5", True, {}), **runs}
    if milvus_uri:
        milvus = {
            "LANGZHONG_ENGINE": "milvus",
            "LANGZHONG_MILVUS_URI": milvus_uri,
            "LANGZHONG_MILVUS_COLLECTION": f"bench{os.getpid()}_{int(time.time())}",
            "LANGZHONG_MILVUS_TIMEOUT_S": str(milvus_timeout_s),
        }
        runs["langzhong (milvus)"] = (work / "home-milvus", False, milvus)
    for name, (where, with_e5, settings) in runs.items():
        on_step(f"{name}: ingest, index, queries")
        ours = _in_fresh_process(_langzhong, work, where, n_docs, with_e5, settings)
        ours["index_mb_per_s"] = round(report["text_mb"] / ours["index_seconds"], 2)
        question = corpus.queries[0][1]
        ours["cold_start_s"] = _cold_start_seconds(where, question, with_e5, settings)
        report["systems"][name] = ours
    for name in peers:
        on_step(f"{name}: index, queries")
        try:
            result = _in_fresh_process(_peer, name, work, n_docs)
        except BrokenProcessPool:  # e.g. killed for memory: a result too, said as it is
            report["systems"][name] = {"error": "its process died (out of memory?)"}
            on_step(f"{name}: its process died")
            continue
        result["index_mb_per_s"] = round(report["text_mb"] / result["index_seconds"], 2)
        report["systems"][name] = result
    for name, (where, with_e5, settings) in runs.items():
        key = "http" if name == "langzhong" else f"http_{name}"
        report[key] = {}
        if http_seconds <= 0:
            continue
        levels = ", ".join(map(str, HTTP_CONCURRENCY))
        on_step(f"{key}: concurrency {levels}, {http_seconds:g} s each, on one server")
        measured = run_levels(
            http_seconds, HTTP_CONCURRENCY, where, dense=with_e5, settings=settings
        )
        for concurrency, result in measured.items():
            report[key][f"c{concurrency}"] = {
                k: result[k]
                for k in (
                    "rps",
                    "errors",
                    "p50_ms",
                    "p95_ms",
                    "p99_ms",
                    "rss_mb_peak",
                    "rss_growth_pct",
                    "server_processes",
                    "generator",
                )
            }
    return report
