"""Run a task on every system and score them the same way."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from langzhong.evaluation.dataset import load_rows, split
from langzhong.evaluation.metrics import evaluate
from langzhong.evaluation.systems import System
from langzhong.evaluation.tasks import Task, build_task


def load_task(
    name: str, data: Path, train_path: Path | None = None, test_path: Path | None = None
) -> tuple[Task, list[dict], list[dict]]:
    """The task, the train rows anything learned may see, and the test rows (from
    ``test_path`` or from the fixed split of ``data``)."""
    if train_path or test_path:
        if not (train_path and test_path):
            raise ValueError("--train and --test go together")
        train, test = load_rows(train_path), load_rows(test_path)
    else:
        train, test = split(load_rows(data))
    return build_task(name, train, test), train, test


def run_eval(
    task: Task,
    systems: Sequence[System],
    on_system: Callable[[str], None] = lambda name: None,
) -> dict:
    report: dict = {
        "task": task.name,
        "n_queries": len(task.queries),
        "n_docs": len(task.corpus),
        "systems": {},
    }
    for system in systems:
        on_system(system.name)
        started = time.perf_counter()
        run = system.run(task)
        seconds = time.perf_counter() - started
        scores = {k: round(v, 4) for k, v in evaluate(task.qrels, run).items()}
        report["systems"][system.name] = scores | {"seconds": round(seconds, 1)}
        precision = getattr(system, "precision", None)
        if precision and getattr(system, "confidence", None) is not None:
            figures = precision(task.qrels, run)
            report["systems"][system.name]["precision"] = {
                k: round(v, 5) if isinstance(v, float) else v for k, v in figures.items()
            }
    return report
