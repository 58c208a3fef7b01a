"""Answers judged by people (docs/judging.md): 2 addresses the patient's condition and the point
asked, 1 is related but does not answer the point, 0 is off-topic. The measure of what the answer
page shows, beside the dataset's labels (which count one answer per question).

Each line of a judgement file (tests/data/judged/) is ``{"question": text, "point": the asked
point, "judged": [{"answer": key, "starts": first characters, "grade": 0|1|2}, ...]}``, ``key``
being ``answer_key`` of the answer's text: questions and answers are found by their text,
whatever ids a split gives them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from langzhong.evaluation.tasks import Task

ANSWERS = 2  # the grade of an answer that answers the point
Judgements = dict[str, dict[str, int]]  # query id -> {judged doc id: grade}


def answer_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def read_judged(path: Path) -> list[dict]:
    """The lines of a judgement file."""
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def load_judgements(path: Path, task: Task) -> Judgements:
    """The file's grades of ``task``'s questions and documents (by text; the others are left
    out: another split or task asks other questions)."""
    qids_of: dict[str, list[str]] = {}  # two patients may ask in the very same words
    for qid, text in task.queries.items():
        qids_of.setdefault(text, []).append(qid)
    doc_of = {answer_key(text): doc for doc, text in task.corpus.items()}
    judged: Judgements = {}
    for entry in read_judged(path):
        grades = {
            doc_of[item["answer"]]: int(item["grade"])
            for item in entry["judged"]
            if item["answer"] in doc_of
        }
        for qid in qids_of.get(entry["question"], []) if grades else []:
            judged[qid] = grades
    return judged


def judged_cut(
    judged: Judgements,
    top10: Mapping[str, Sequence[str]],
    shown: Mapping[str, Sequence[str]],
    best: Mapping[str, bool] | None = None,
) -> dict[str, float | int]:
    """What the answer page shows of the judged questions, against their grades: whether an
    answer (a 2) is in the uncut top 10 and among the shown hits, how many shown hits answer or
    are off-topic (0), whether the first shown hit (and the 「最佳回答」, where ``best`` names one)
    answers, and how many shown hits were never judged (a ranking unlike the judged ones shows
    answers nobody has read)."""
    n = len(judged)
    if not n:
        return {"questions": 0}

    def answered(lists: Mapping[str, Sequence[str]]) -> int:
        return sum(any(judged[q].get(d) == ANSWERS for d in lists.get(q, ())) for q in judged)

    hits = [(q, d) for q in judged for d in shown.get(q, ())]
    with_hits = [q for q in judged if shown.get(q)]
    named = [q for q in with_hits if (best or {}).get(q)]
    in_top, kept = answered(top10), answered(shown)

    def share(part: float, whole: float) -> float:
        return part / whole if whole else 0.0

    figures = {
        "answer_in_top10": share(in_top, n),
        "answer_shown": share(kept, n),
        "kept_ratio": share(kept, in_top),
        "mean_shown": share(len(hits), n),
        "shown_that_answer": share(sum(judged[q].get(d) == ANSWERS for q, d in hits), len(hits)),
        "shown_off_topic": share(sum(judged[q].get(d) == 0 for q, d in hits), len(hits)),
        "shown_unjudged": share(sum(d not in judged[q] for q, d in hits), len(hits)),
        "first_shown_answers": share(
            sum(judged[q].get(shown[q][0]) == ANSWERS for q in with_hits), len(with_hits)
        ),
        "best_named": share(len(named), n),
        "best_answers": share(
            sum(judged[q].get(shown[q][0]) == ANSWERS for q in named), len(named)
        ),
    }
    return {"questions": n} | {name: round(value, 5) for name, value in figures.items()}
