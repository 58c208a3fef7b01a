"""How often the suggested department is right: on the test rows against the dataset's own
labels, and on a hand-labelled set of questions across departments."""

from __future__ import annotations

from collections.abc import Sequence

from langzhong.answer.compose import cards_for
from langzhong.answer.department import aliases, department_from_classifier, suggest_department
from langzhong.answer.department_model import DepartmentModel
from langzhong.answer.redflags import red_flags
from langzhong.evaluation.dataset import department_of
from langzhong.text import Analyzer


def department_accuracy(
    model: DepartmentModel,
    rows: Sequence[dict],
    analyzer: Analyzer,
    labelled: Sequence[tuple[str, set[str]]] = (),
) -> dict[str, float | int]:
    """``rows``: test rows with a ``department`` label; ``labelled``: (question, accepted)."""
    names = aliases()
    classifier = suggested = 0
    scored = [(r, label) for r in rows if (label := department_of(r))]
    for row, label in scored:
        question = f"{row['title']} {row['ask']}"
        truth = names.get(label, label)
        terms = analyzer.terms(question)
        classifier += department_from_classifier(terms, model) == truth
        flags = red_flags(question)
        cards = cards_for(question)
        suggested += suggest_department(question, (), flags, terms, model, cards) == truth
    figures: dict[str, float | int] = {
        "test_rows": len(scored),
        "classifier_accuracy": classifier / max(len(scored), 1),
        "suggested_accuracy": suggested / max(len(scored), 1),
    }
    if labelled:
        right = sum(
            suggest_department(q, (), red_flags(q), analyzer.terms(q), model, cards_for(q))
            in accepted
            for q, accepted in labelled
        )
        figures |= {"labelled_questions": len(labelled), "labelled_accuracy": right / len(labelled)}
    return figures
