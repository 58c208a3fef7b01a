"""How often the suggested department is right on the test rows, against the dataset's own labels
(the hand-labelled questions across all departments are ``langzhong eval department``'s)."""

from __future__ import annotations

from collections.abc import Sequence

from langzhong.answer.compose import cards_for
from langzhong.evaluation.dataset import department_of
from langzhong.question import read_question
from langzhong.text import Analyzer
from langzhong.triage.department import site_name, suggest_department
from langzhong.triage.department_model import DepartmentModel
from langzhong.triage.red_flags import red_flags


def department_accuracy(
    model: DepartmentModel, rows: Sequence[dict], analyzer: Analyzer
) -> dict[str, float | int]:
    """``rows``: test rows with a ``department`` label."""
    classifier = suggested = shown = 0
    scored = [(r, label) for r in rows if (label := department_of(r))]
    for row, label in scored:
        question = read_question(f"{row['title']} {row['ask']}", analyzer)
        truth = site_name(label)
        classifier += site_name(model.predict(question.terms)[0] or "") == truth
        found = suggest_department(question, red_flags(question), cards_for(question))
        suggested += found == truth
        shown += found is not None
    n = max(len(scored), 1)
    return {
        "test_rows": len(scored),
        "classifier_accuracy": classifier / n,
        "suggested_accuracy": suggested / n,
        "suggested_any": shown / n,
    }
