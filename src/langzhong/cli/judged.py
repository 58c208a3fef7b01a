"""``langzhong eval judged``: the answer page of the README's site (e5 on, the shipped models)
measured against answers judged 0/1/2 (docs/judging.md), every answer ingested and embedded
through the product's own write path."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from langzhong.cli.main import err, out
from langzhong.config import Settings
from langzhong.core import Article, Section
from langzhong.evaluation.dataset import load_rows
from langzhong.evaluation.judged import answer_key, load_judgements, read_judged
from langzhong.evaluation.report import judged_line
from langzhong.evaluation.systems import Langzhong
from langzhong.evaluation.tasks import Task
from langzhong.service import JUDGED_CONFIDENCE_FILE, Service, shipped_confidence, shipped_reranker
from langzhong.triage.department import shipped_model

CHECKOUT_DATA = Path(__file__).resolve().parents[3] / "tests" / "data"
JUDGED_REPORT_FILE = "confidence-judged.json"  # its validation figures, beside the model


def judged_task(rows: list[dict], judged: Path) -> Task:
    """The judged questions asked of every answer of ``rows`` (identical answers once)."""
    corpus: dict[str, str] = {}
    for row in rows:
        corpus.setdefault(answer_key(row["answer"].strip()), row["answer"].strip())
    queries = {f"j{i}": entry["question"] for i, entry in enumerate(read_judged(judged))}
    return Task("judged", queries, corpus, {qid: {} for qid in queries})


def qa_articles(corpus: dict[str, str]) -> Iterator[Article]:
    """Each answer as the evaluation stores it: an article with one section, its id the key."""
    for key, text in corpus.items():
        yield Article(
            id=key, kind="qa", title="", sections=(Section(heading="回答", level=1, text=text),)
        )


def _unanswerable() -> list[str]:
    path = CHECKOUT_DATA / "unanswerable.txt"
    lines = path.read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def judged_eval(data: Path, judged: Path | None, json_out: Path | None) -> None:
    judged = judged or CHECKOUT_DATA / "judged" / "test.jsonl"
    unanswerable = _unanswerable()
    task = judged_task(load_rows(data), judged)
    system = Langzhong(
        shipped_reranker(),
        None,
        unanswerable,
        dense=True,
        dense_confidence=shipped_confidence(dense=True),
        departments=shipped_model(),
        judged=load_judgements(judged, task),
    )
    err.print(f"{len(task.queries)} judged questions, {len(task.corpus)} answers: ingesting…")
    run = system.run(task)
    figures = system.precision({qid: {} for qid in task.queries}, run)["judged"]
    shown = system.unanswerable_shown
    report = {
        "judged": figures,
        # each question's shown answers (keys), for judging what a new ranking shows anew
        "shown": {task.queries[qid]: hits for qid, hits in system.shown.items()},
        "unanswerable": {
            "questions": len(shown),
            "mean_shown": round(sum(shown) / max(len(shown), 1), 3),
            "best_named": system.unanswerable_best,
        },
    }
    out.print(f"langzhong, against answers judged 0/1/2: {judged_line(figures)}")
    u = report["unanswerable"]
    out.print(
        f"{u['questions']} questions the corpus cannot answer: {u['mean_shown']} hits shown"
        f" each, a 「最佳回答」 on {u['best_named']}"
    )
    if json_out:
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
        err.print(f"wrote {json_out}")


def train_judged(data: Path, folder: Path) -> None:
    """The confidence model fitted to the judged training questions, its bars chosen on the
    judged validation questions; written to ``folder`` (the shipped one search uses by default)."""
    from langzhong.training.judged import examples, fit_judged

    rows = load_rows(data)
    entries = {
        name: read_judged(CHECKOUT_DATA / "judged" / f"{name}.jsonl")
        for name in ("train", "validation")
    }
    corpus = judged_task(rows, CHECKOUT_DATA / "judged" / "train.jsonl").corpus
    with tempfile.TemporaryDirectory() as home:
        service = Service(Settings.load(Path(home)))
        try:
            err.print(f"ingesting {len(corpus)} answers (each embedded by e5)…")
            service.writing.write_articles(qa_articles(corpus), dedupe=False)

            def head(text: str) -> tuple[list[str], np.ndarray]:
                keys, features = service.searcher.head_features(text, service.asking.read(text))
                articles = service.store.get_by_rowids(keys)
                return [articles[k].id for k in keys], features

            judged = {name: examples(found, head) for name, found in entries.items()}
            unanswerable = [head(q)[1] for q in _unanswerable()]
        finally:
            service.close()
    model, report = fit_judged(judged["train"], judged["validation"], unanswerable)
    model.save(folder / JUDGED_CONFIDENCE_FILE)
    v = report["validation"]
    err.print(
        f"wrote {folder / JUDGED_CONFIDENCE_FILE}: shown from {report['threshold']},"
        f" 「最佳回答」 from {report['best']}; on {report['validation_questions']} judged"
        " validation questions:"
        f" {v['mean_shown']:.2f} shown, {v['shown_that_answer']:.3f} of them answer,"
        f" {v['shown_off_topic']:.3f} off-topic, ratio {v['kept_ratio']:.3f}, first shown answers"
        f" {v['first_shown_answers']:.3f}, 「最佳回答」 on {v['best_named']:.3f} right"
        f" {v['best_answers']:.3f}; {report['unanswerable_mean_shown']} hits on unanswerable"
    )
    (folder / JUDGED_REPORT_FILE).write_text(
        json.dumps(report, ensure_ascii=False, indent=1), "utf-8"
    )
