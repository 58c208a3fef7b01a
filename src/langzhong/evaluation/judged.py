"""Answers judged by hand: does each listed answer answer the question? A second measure of the
confidence cut beside the dataset's labels, which count only the question's own answer (and
identical titles) as relevant, so every other answer that helps counts as a miss.

Each line of a judgement file is ``{"question": text, "judged": [{"answer": key, "starts":
first characters, "answers": bool}, ...]}``, ``key`` being ``answer_key`` of the answer's text:
questions and answers are found by their text, whatever ids a split gives them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from langzhong.evaluation.tasks import Task

Judgements = dict[str, dict[str, bool]]  # query id -> {judged doc id: answers the question}


def answer_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def load_judgements(path: Path, task: Task) -> Judgements:
    """The file's judgements of ``task``'s questions and documents (by text; the others are left
    out: another split or task asks other questions)."""
    qids_of: dict[str, list[str]] = {}  # two patients may ask in the very same words
    for qid, text in task.queries.items():
        qids_of.setdefault(text, []).append(qid)
    doc_of = {answer_key(text): doc for doc, text in task.corpus.items()}
    judged: Judgements = {}
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        verdicts = {
            doc_of[item["answer"]]: bool(item["answers"])
            for item in entry["judged"]
            if item["answer"] in doc_of
        }
        for qid in qids_of.get(entry["question"], []) if verdicts else []:
            judged[qid] = verdicts
    return judged


def judged_cut(
    judged: Judgements,
    top10: Mapping[str, Sequence[str]],
    shown: Mapping[str, Sequence[str]],
) -> dict[str, float | int]:
    """The confidence cut's figures with the judged answers as the relevant ones, on the judged
    questions: like ``Langzhong.precision``'s, plus how many shown hits answer and how many
    were never judged (a ranking unlike the judged one shows answers nobody has read)."""
    n = len(judged)
    if not n:
        return {"questions": 0}

    def answered(lists: Mapping[str, Sequence[str]]) -> float:
        return sum(any(judged[q].get(doc, False) for doc in lists.get(q, ())) for q in judged) / n

    hits = [(q, doc) for q in judged for doc in shown.get(q, ())]
    in_top, kept = answered(top10), answered(shown)
    figures = {
        "answer_in_top10": in_top,
        "answer_shown": kept,
        "kept_ratio": kept / in_top if in_top else 0.0,
        "mean_shown": len(hits) / n,
        "shown_that_answer": sum(judged[q].get(d, False) for q, d in hits) / max(len(hits), 1),
        "shown_unjudged": sum(d not in judged[q] for q, d in hits) / max(len(hits), 1),
    }
    return {"questions": n} | {name: round(value, 5) for name, value in figures.items()}
