"""``langzhong bench``: indexing speed, query latency, memory, disk and HTTP throughput beside
the peers (the runs themselves: ``langzhong.benchmark``)."""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from pathlib import Path

import click
from rich.table import Table

from langzhong.cli.main import err, main, out
from langzhong.cli.measure import data_option
from langzhong.evaluation.dataset import bundled_data, load_rows

MILVUS_LITE_TIMEOUT_S = 600
RANK_BM25_MAX_DOCS = 10_000  # rank_bm25 scores every document in Python: measured at 10k only


@main.command()
@click.option("--docs", "n_docs", type=click.IntRange(100), required=True, help="Corpus size.")
@data_option
@click.option("--queries", "n_queries", default=1000, show_default=True, type=click.IntRange(10))
@click.option(
    "--peers",
    default="bm25s,sqlite-fts5,tantivy,rank_bm25",
    show_default=True,
    help="Comma-separated engines to measure beside langzhong ('' for none).",
)
@click.option("--http-seconds", default=10.0, show_default=True, help="0 skips the HTTP load.")
@click.option(
    "--dense/--no-dense",
    default=False,
    show_default=True,
    help="Also measure langzhong with e5 retrieval (langzhong+e5) in the same run.",
)
@click.option(
    "--engine",
    type=click.Choice(["tantivy", "milvus"]),
    default="tantivy",
    show_default=True,
    help="milvus: langzhong on Milvus too, beside tantivy (LANGZHONG_MILVUS_URI, else a local"
    " milvus-lite server: a functional check of the code path, not Milvus's speed).",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
def bench(
    n_docs: int,
    data: Path | None,
    n_queries: int,
    peers: str,
    http_seconds: float,
    dense: bool,
    engine: str,
    json_out: Path | None,
) -> None:
    """Indexing speed, query latency, memory, disk and HTTP throughput beside the peers."""
    import tempfile

    from langzhong.benchmark.corpus import build_corpus
    from langzhong.benchmark.engines import PEERS
    from langzhong.benchmark.runner import run_bench

    chosen = [p for p in peers.split(",") if p]
    unknown = set(chosen) - set(PEERS)
    if unknown:
        raise click.UsageError(f"unknown peers {sorted(unknown)}; choose from {sorted(PEERS)}")
    if n_docs > RANK_BM25_MAX_DOCS and "rank_bm25" in chosen:
        chosen.remove("rank_bm25")
        err.print(f"rank_bm25 is measured up to {RANK_BM25_MAX_DOCS} documents only")
    corpus = build_corpus(load_rows(data or bundled_data()), n_docs, n_queries)
    err.print(
        f"corpus: {len(corpus.docs)} documents ({corpus.real_docs} real answers, the rest "
        f"recombined from their sentences), {len(corpus.queries)} real questions"
    )
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        milvus_uri, milvus_server = os.environ.get("LANGZHONG_MILVUS_URI"), None
        if engine == "milvus" and not milvus_uri:
            from langzhong.benchmark.milvus_lite import MilvusLite

            milvus_server = MilvusLite(Path(tmp))
            stack.callback(milvus_server.stop)
            milvus_uri = milvus_server.uri
        report = run_bench(
            corpus,
            Path(tmp),
            chosen,
            http_seconds,
            on_step=lambda s: err.print(f"running {s}…"),
            dense=dense,
            milvus_uri=milvus_uri if engine == "milvus" else None,
            # milvus-lite scores every document in Python: at 100k a search takes seconds.
            milvus_timeout_s=MILVUS_LITE_TIMEOUT_S if milvus_server else 3,
        )
    if engine == "milvus":
        report["milvus"] = {
            "server": "milvus-lite (local)" if milvus_server else "LANGZHONG_MILVUS_URI",
            "note": "milvus-lite is a pure-Python test server: these figures check the code"
            " path, they are not Milvus's performance"
            if milvus_server
            else "the Milvus named by LANGZHONG_MILVUS_URI",
        }
    _print_bench(report)
    if json_out:
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
        err.print(f"wrote {json_out}")


def _print_bench(report: dict) -> None:
    ours = report["systems"]["langzhong"]
    table = Table(title=f"{report['n_docs']} documents, {report['n_queries']} questions")
    columns = (
        "system",
        "docs/s",
        "MB/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "p99 ×ours",
        "RSS MB",
        "disk MB",
        "nDCG@10",
        "index calls/q",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "system" else "right", no_wrap=True)
    for name, s in report["systems"].items():
        if "error" in s:
            table.add_row(name, s["error"])
            continue
        table.add_row(
            name,
            f"{s['index_docs_per_s']:.0f}",
            f"{s['index_mb_per_s']:.2f}",
            f"{s['p50_ms']:.1f}",
            f"{s['p95_ms']:.1f}",
            f"{s['p99_ms']:.1f}",
            f"{s['p99_ms'] / ours['p99_ms']:.2f}",
            f"{s['rss_mb']:.0f}",
            f"{s['disk_mb']:.1f}",
            f"{s['ndcg@10']:.4f}",
            f"{s['index_calls_per_question']:g}" if "index_calls_per_question" in s else "",
        )
    out.print(table)
    out.print(f"langzhong cold start (process start to first answer): {ours['cold_start_s']} s")
    runs = [(key.removeprefix("http").lstrip("_"), key) for key in report if key.startswith("http")]
    for name, key in runs:
        for level, figures in report[key].items():
            out.print(
                f"HTTP {name or 'langzhong'} {level}: {figures['rps']} req/s,"
                f" {figures['errors']} errors, "
                f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, "
                f"server peak RSS {figures['rss_mb_peak']} MB"
                f" ({figures['server_processes']} processes, load from {figures['generator']})"
            )
    if "milvus" in report:
        out.print(f"Milvus: {report['milvus']['server']}: {report['milvus']['note']}")
