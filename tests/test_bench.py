"""The benchmark harness on a tiny corpus: it runs and reports; speed itself is in the notes."""

import json

import pytest
from conftest import run_cli

from langzhong.benchmark.corpus import build_corpus
from langzhong.evaluation.dataset import load_rows, split


def _bundled_rows():
    from importlib import resources

    path = resources.files("langzhong.demo").joinpath("medical-dialogue-im.jsonl.gz")
    return load_rows(path)


def test_corpus_keeps_real_answers_first_and_asks_only_test_questions():
    rows = _bundled_rows()
    corpus = build_corpus(rows, 8000, n_queries=50)
    assert len(corpus.docs) == 8000 and corpus.real_docs < 8000
    assert corpus.docs[0][0].startswith("d") and corpus.docs[-1][0].startswith("s")
    train_titles = {r["title"].strip() for r in split(rows)[0]}
    ids = {doc for doc, _ in corpus.docs}
    for qid, text in corpus.queries:
        assert text.split(" ")[0].strip() not in train_titles
        assert set(corpus.qrels[qid]) <= ids
    assert build_corpus(rows, 8000, n_queries=50) == corpus


def test_bench_command_reports_every_engine(tmp_path):
    out = tmp_path / "bench.json"
    done = run_cli(
        "bench",
        "--docs",
        "300",
        "--queries",
        "20",
        "--http-seconds",
        "1",
        "--json",
        str(out),
        home=tmp_path / "home",
    )
    report = json.loads(out.read_text("utf-8"))
    assert report["n_docs"] == 300 and report["n_queries"] == 20
    assert set(report["systems"]) == {"langzhong", "bm25s", "sqlite-fts5", "tantivy", "rank_bm25"}
    for figures in report["systems"].values():
        assert figures["index_docs_per_s"] > 0 and figures["p99_ms"] >= figures["p50_ms"] > 0
        assert 0 <= figures["ndcg@10"] <= 1
    assert {"c1", "c8", "c32"} == set(report["http"])
    assert all(level["errors"] == 0 for level in report["http"].values())
    assert report["systems"]["langzhong"]["cold_start_s"] > 0
    assert "p99 ms" in done.stdout


def test_bench_measures_langzhong_on_milvus_beside_tantivy(tmp_path, monkeypatch):
    pytest.importorskip("milvus_lite", reason="milvus-lite is missing (langzhong[cluster])")
    monkeypatch.delenv("LANGZHONG_MILVUS_URI", raising=False)  # a local milvus-lite, labelled
    out = tmp_path / "bench.json"
    run_cli(
        "bench",
        *("--docs", "300", "--queries", "20", "--http-seconds", "1", "--peers", ""),
        *("--engine", "milvus", "--json", str(out)),
        home=tmp_path / "home",
    )
    report = json.loads(out.read_text("utf-8"))
    assert set(report["systems"]) == {"langzhong", "langzhong (milvus)"}
    tantivy, milvus = report["systems"]["langzhong"], report["systems"]["langzhong (milvus)"]
    assert milvus["p99_ms"] >= milvus["p50_ms"] > 0
    assert 0 < milvus["index_calls_per_question"] <= 2 and tantivy["index_calls_per_question"] == 0
    assert abs(milvus["ndcg@10"] - tantivy["ndcg@10"]) < 0.05  # the same analyzer and BM25
    assert all(level["errors"] == 0 for level in report["http_langzhong (milvus)"].values())
    assert "not Milvus's performance" in report["milvus"]["note"]
