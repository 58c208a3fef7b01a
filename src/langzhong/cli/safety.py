"""Triage measured and trained: ``langzhong eval safety``, ``langzhong eval department`` and
``langzhong train --part triage`` (the semantic net beside the red-flag rules)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO, cast

import click
import numpy as np
from rich.table import Table

from langzhong.cli.main import err, out
from langzhong.config import Settings
from langzhong.embed.base import question_head
from langzhong.evaluation.dataset import load_rows, split
from langzhong.evaluation.safety import (
    FALSE_ALARM_TARGET,
    FRESH,
    FRESH_2,
    LEVELS,
    MORE_TUNE,
    RECALL_TARGETS,
    SPLITS,
    alarm_report,
    department_report,
    load_labelled_departments,
    load_suites,
    suite_report,
)
from langzhong.question import read_question
from langzhong.service import Service
from langzhong.training.triage_net import build_net
from langzhong.triage import CJK
from langzhong.triage.net import NET_FILE
from langzhong.triage.red_flags import gates, red_flags, rules

CHECKOUT_DATA = Path(__file__).resolve().parents[3] / "tests" / "data"
SUITES = CHECKOUT_DATA / "red-flags"
LABELLED = CHECKOUT_DATA / "departments-labelled.tsv"
# written apart from the rules and from each other (docs/safety.md): more tune questions, and
# two sets held out whole
LABELLED_WHOLE = {
    "tune": CHECKOUT_DATA / "departments-more-tune.tsv",
    FRESH: CHECKOUT_DATA / "departments-fresh.tsv",
    FRESH_2: CHECKOUT_DATA / "departments-fresh-2.tsv",
}
SEED_QUESTION = "腰椎微创手术后腰酸痛是怎么回事"  # the seed page's own title


def _needs(path: Path | None, default: Path, what: str) -> Path:
    found = path or default
    if not found.exists():
        raise click.UsageError(f"no {what} at {found}: give one (a source checkout has it)")
    return found


def _questions(rows: Sequence[dict]) -> list[str]:
    return [f"{row['title']} {row['ask']}" for row in rows]


def _service(home: Path) -> Service:
    """The product as the README's command serves it (e5 on), on an empty home: triage reads
    the question alone."""
    return Service(Settings.load(home))


def safety_eval(suites: Path | None, data: Path, json_out: Path | None) -> None:
    """Recall on the phrasing suites, false alarms on everyday questions, through the product."""
    phrasings = load_suites(_needs(suites, SUITES, "phrasing suites"))
    rows = load_rows(data)
    train, test = split(rows)
    with tempfile.TemporaryDirectory() as home:
        service = _service(Path(home))
        try:
            flags_of = lambda text: service.asking.triage(text).flags  # noqa: E731
            err.print(f"triage net: {service.admin.triage_net_state()}")
            report = {
                "triage_net": service.admin.triage_net_state(),
                "suites": suite_report(phrasings, flags_of),
                "everyday": {
                    "all": alarm_report(_questions(rows), flags_of),
                    "train_split": alarm_report(_questions(train), flags_of),
                    "test_split": alarm_report(_questions(test), flags_of),
                },
                "seed": [f.id for f in flags_of(SEED_QUESTION)],
            }
        finally:
            service.close()
    report["targets"] = _against_targets(report)
    _print_safety(report)
    if json_out:
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
        err.print(f"wrote {json_out}")


def _against_targets(report: dict) -> dict[str, bool]:
    held_out = report["suites"]["held-out"]["recall"]
    everyday = report["everyday"]["all"]
    met = {f"recall {lvl} ≥ {t}": held_out.get(lvl, 0) >= t for lvl, t in RECALL_TARGETS.items()}
    met[f"false alarms ≤ {FALSE_ALARM_TARGET:.1%}"] = everyday["share"] <= FALSE_ALARM_TARGET
    met["no false crisis"] = not everyday["by_level"].get("crisis")
    met["the seed raises nothing"] = not report["seed"]
    return met


def _print_safety(report: dict) -> None:
    table = Table(title="red flags: recall by level (a notice at least that pressing)")
    for column in ("half", *LEVELS, "near misses alarmed", "right rule"):
        table.add_column(column, justify="right")
    for half in SPLITS:
        figures = report["suites"][half]
        recall = figures["recall"]
        hits = figures["hits"]
        table.add_row(
            half,
            *(f"{recall.get(lvl, 0):.3f} of {hits.get(lvl, 0)}" for lvl in LEVELS),
            f"{figures['near_miss_alarms']:.3f}",
            f"{figures['right_rule']:.3f}",
        )
    out.print(table)
    for name, figures in report["everyday"].items():
        out.print(
            f"everyday questions ({name}): {figures['flagged']} of {figures['questions']} raised"
            f" a notice ({figures['share']:.2%}); by level {figures['by_level']}"
        )
    out.print(f"the seed's question raises: {report['seed'] or 'nothing'}")
    for target, met in report["targets"].items():
        out.print(f"{'met' if met else 'NOT met'}: {target}")


def department_eval(labels: Path | None, json_out: Path | None) -> None:
    """The department shown for hand-labelled questions, through the product."""
    rows = load_labelled_departments(_needs(labels, LABELLED, "labelled departments"))
    if labels is None:
        rows += [
            row
            for half, path in LABELLED_WHOLE.items()
            if path.is_file()
            for row in load_labelled_departments(path, whole_split=half)
        ]
    with tempfile.TemporaryDirectory() as home:
        service = _service(Path(home))
        try:
            report = department_report(rows, lambda q: service.asking.triage(q).department)
        finally:
            service.close()
    table = Table(title="department: shown for hand-labelled questions")
    for column in ("half", "questions", "right", "wrong", "none"):
        table.add_column(column, justify="right")
    for half, figures in report.items():
        table.add_row(
            half,
            str(figures["questions"]),
            *(f"{figures[k]:.3f}" for k in ("right", "wrong", "none")),
        )
    out.print(table)
    held_out = report["held-out"]
    out.print(f"{'met' if held_out['right'] >= 0.9 else 'NOT met'}: right ≥ 0.9 (held-out)")
    out.print(f"{'met' if held_out['wrong'] <= 0.03 else 'NOT met'}: wrong ≤ 0.03 (held-out)")
    if json_out:
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
        err.print(f"wrote {json_out}")


def _everyday_tune(suites: Path) -> list[str]:
    """Everyday questions that need no notice, from the tune side only: the suites' own lists
    (everyday questions, and what people type that asks nothing of health) and the tune half of
    the labelled departments (written as non-emergencies). Not departments-more-tune.tsv: as
    negatives they made the false-alarm budget bind and cost emergency recall (docs/safety.md,
    look 8)."""
    found = []
    for name in ("everyday.txt", "chitchat.txt"):
        if (listed := suites / MORE_TUNE / name).is_file():
            lines = listed.read_text("utf-8").splitlines()
            found += [line for line in lines if line and line[0] != "#"]
    if LABELLED.is_file():
        found += [q for half, q, _ in load_labelled_departments(LABELLED) if half == "tune"]
    return found


def train_triage(data: Path, folder: Path, suites: Path | None) -> None:
    """The semantic net from the tune half of the phrasing suites and the training split's
    everyday questions, written to ``folder``."""
    from langzhong.embed.e5_onnx import E5Onnx

    folder_of_suites = _needs(suites, SUITES, "phrasing suites")
    phrasings = load_suites(folder_of_suites)
    train, _ = split(load_rows(data))
    # questions as asked in full, and as typed in a search box (their titles alone)
    titles = [row["title"] for row in train]
    everyday = _questions(train) + titles + _everyday_tune(folder_of_suites)
    model = E5Onnx()

    def embed(texts: Sequence[str]) -> np.ndarray:
        with click.progressbar(texts, label="embedding", file=cast(TextIO, err.file)) as bar:
            return np.stack([model.embed_queries([question_head(t)])[0] for t in bar])

    def rules_level(text: str) -> int:
        flags = red_flags(read_question(text))
        return LEVELS.index(flags[0].level) if flags else len(LEVELS)

    def open_rules(text: str) -> list[str]:
        normalized = read_question(text).normalized
        if not CJK.search(normalized) or not gates().open(normalized):
            return []
        return [rule.flag.id for rule in rules() if not rule.vetoed(normalized)]

    net, report = build_net(
        phrasings,
        everyday,
        embed,
        [rule.flag.id for rule in rules()],
        rules_level,
        open_rules,
        model.model_hash,
        on_step=lambda step: err.print(f"training: {step}"),
    )
    net.save(folder / NET_FILE)
    err.print(
        f"wrote {folder / NET_FILE}: {report.examples} examples ({report.negatives} negatives);"
        f" {report.levels}"
    )
