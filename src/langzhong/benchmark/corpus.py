"""Benchmark corpora: the real answers first, then documents recombined from real sentences.

Recombined documents keep the vocabulary and term statistics of real Chinese medical text; they
are distractors, never relevant. Queries are real questions (title and ask) of the evaluation's
test rows (never the rows the shipped reranker learned from) whose own answer is in the corpus, so
quality (nDCG@10) can be read beside speed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from langzhong.core import Article, Section
from langzhong.evaluation.dataset import split
from langzhong.evaluation.tasks import build_task

SEED = 20261124
_SENTENCE = re.compile(r"[^。！？!?]+[。！？!?]?")


@dataclass(frozen=True)
class BenchCorpus:
    docs: list[tuple[str, str]]  # (doc id, text)
    queries: list[tuple[str, str]]  # (query id, text)
    qrels: dict[str, dict[str, int]]
    real_docs: int

    @property
    def text_bytes(self) -> int:
        return sum(len(text.encode("utf-8")) for _, text in self.docs)


def build_corpus(rows: list[dict], n_docs: int, n_queries: int = 1000) -> BenchCorpus:
    rng = random.Random(SEED)
    task = build_task("qa-retrieval", *split(rows))
    # Answers to the test questions first, so that even a small corpus has questions to ask.
    wanted = dict.fromkeys(doc for q in task.queries for doc in task.qrels[q])
    order = list(wanted) + [doc for doc in task.corpus if doc not in wanted]
    real = [(doc, task.corpus[doc]) for doc in order[:n_docs]]
    kept = {doc for doc, _ in real}
    sentences = [s.strip() for _, text in real for s in _SENTENCE.findall(text) if s.strip()]
    docs = list(real)
    while len(docs) < n_docs:
        docs.append((f"s{len(docs)}", "".join(rng.choices(sentences, k=rng.randint(3, 8)))))
    answerable = [q for q in task.queries if set(task.qrels[q]) <= kept]
    chosen = sorted(
        rng.sample(answerable, min(n_queries, len(answerable))), key=lambda q: int(q[1:])
    )
    return BenchCorpus(
        docs=docs,
        queries=[(q, task.queries[q]) for q in chosen],
        qrels={q: task.qrels[q] for q in chosen},
        real_docs=len(real),
    )


def as_articles(docs: Iterable[tuple[str, str]]) -> Iterator[Article]:
    """The corpus's documents as the product stores them: question/answer articles."""
    for doc_id, text in docs:
        yield Article(
            id=doc_id, kind="qa", title="", sections=(Section(heading="回答", level=1, text=text),)
        )
