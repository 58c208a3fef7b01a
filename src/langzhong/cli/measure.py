"""Measurement commands: ``langzhong train`` and ``langzhong eval``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import click
from rich.table import Table

from langzhong.cli.main import err, main, out
from langzhong.evaluation.dataset import load_rows, split
from langzhong.evaluation.harness import load_task, run_eval
from langzhong.evaluation.systems import PEERS, Dense, Langzhong
from langzhong.evaluation.tasks import TASKS
from langzhong.search.rerank import TranslationReranker
from langzhong.search.training import fit_reranker
from langzhong.service import RERANKER_FILE
from langzhong.text import default_analyzer

BASELINE = "bm25s-jieba"


def _bundled_data() -> Path:
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
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the model (default: the one the package ships and search uses).",
)
def train(data: Path | None, out: Path | None) -> None:
    """Train the reranker on the train split (the evaluation split is never seen)."""
    rows, _ = split(load_rows(data or _bundled_data()))
    model, grid = fit_reranker(
        rows, default_analyzer(), on_step=lambda s: err.print(f"training: {s}")
    )
    target = out or Path(str(resources.files("langzhong.data").joinpath(RERANKER_FILE)))
    model.save(target)
    _print_grid(grid)
    err.print(
        f"wrote {target} ({target.stat().st_size >> 10} KiB): blend {model.blend}, "
        f"exact {model.exact}, depth {model.depth}, {model.table.nnz} translations"
    )


def _print_grid(grid: list[dict]) -> None:
    table = Table(title="validation (20% of the training rows)")
    for name in grid[0]:
        table.add_column(name, justify="right")
    for point in grid:
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in point.values()))
    err.print(table)


@main.command(name="eval")
@click.argument("task_name", metavar="TASK", type=click.Choice(TASKS))
@_data_option
@click.option("--train", "train_path", type=click.Path(exists=True, path_type=Path))
@click.option("--test", "test_path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--model",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A local sentence-transformers model to compare with.",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-peers", is_flag=True, help="Measure langzhong alone.")
def evaluate(
    task_name: str,
    data: Path | None,
    train_path: Path | None,
    test_path: Path | None,
    model: Path | None,
    json_out: Path | None,
    no_peers: bool,
) -> None:
    """Score langzhong and its peers on real patient questions (nDCG@10, MRR@10, Recall@100).

    Anything learned is trained on the train rows only; queries are the test rows; the corpus is
    the answers of both.
    """
    try:
        task, train_rows = load_task(task_name, data or _bundled_data(), train_path, test_path)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    err.print(f"{task.name}: {len(task.queries)} queries, {len(task.corpus)} documents")
    reranker_model, _ = fit_reranker(
        train_rows, default_analyzer(), on_step=lambda s: err.print(f"training: {s}")
    )
    systems = [
        Langzhong(TranslationReranker(reranker_model)),
        Langzhong(None, name="langzhong-bm25-only"),
    ]
    if not no_peers:
        systems += [make() for make in PEERS.values()]
    if model:
        systems.append(Dense(model))
    report = run_eval(task, systems, on_system=lambda name: err.print(f"running {name}…"))
    _print_report(report)
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
