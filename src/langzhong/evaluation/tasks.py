"""Retrieval tasks in the CmedqaRetrieval setting: a patient's question, all answers as corpus."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from langzhong.evaluation.dataset import department_of

TASKS = ("qa-retrieval", "title-retrieval")


@dataclass(frozen=True)
class Task:
    name: str
    queries: dict[str, str]  # query id -> text
    corpus: dict[str, str]  # doc id -> answer text (identical answers stored once)
    qrels: dict[str, dict[str, int]]  # query id -> {relevant doc id: 1}
    departments: dict[str, str] = field(default_factory=dict)  # doc id -> its row's label


def build_task(name: str, train: list[dict], test: list[dict]) -> Task:
    """Queries from the test rows; corpus = answers of train and test rows together.

    Relevant: the row's own answer and the answers of rows with the identical title.
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose from {', '.join(TASKS)}")
    doc_of_text: dict[str, str] = {}
    doc_of_row: dict[int, str] = {}
    by_title: dict[str, set[str]] = defaultdict(set)
    for index, row in enumerate(train + test):
        doc = doc_of_text.setdefault(row["answer"].strip(), f"d{len(doc_of_text)}")
        doc_of_row[index] = doc
        by_title[row["title"].strip()].add(doc)
    queries, qrels = {}, {}
    for offset, row in enumerate(test):
        qid = f"q{offset}"
        text = row["title"] if name == "title-retrieval" else f"{row['title']} {row['ask']}"
        queries[qid] = text
        relevant = {doc_of_row[len(train) + offset]} | by_title[row["title"].strip()]
        qrels[qid] = {doc: 1 for doc in sorted(relevant)}
    corpus = {doc: text for text, doc in doc_of_text.items()}
    departments: dict[str, str] = {}
    for index, row in enumerate(train + test):
        if label := department_of(row):
            departments.setdefault(doc_of_row[index], label)
    return Task(name, queries, corpus, qrels, departments)
