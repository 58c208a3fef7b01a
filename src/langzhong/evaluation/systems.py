"""The systems compared: langzhong's own search, and the peers a user could pick instead.

Each system indexes a task's corpus and returns a run ``{query id: {doc id: score}}``.
langzhong is driven through the same Service the site uses, on a temporary store.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from langzhong.answer.compose import PAGE_SIZE
from langzhong.config import Settings
from langzhong.core import Article, Section
from langzhong.evaluation.judged import Judgements, judged_cut
from langzhong.evaluation.metrics import Run, reliability
from langzhong.evaluation.tasks import Task
from langzhong.search.confidence import ConfidenceModel
from langzhong.search.rerank import TranslationReranker
from langzhong.triage.department_model import DepartmentModel

DEPTH = 100
_PUNCT = re.compile(r"[\W_]+")


class System(Protocol):
    name: str

    def run(self, task: Task) -> Run: ...


class Langzhong:
    """The product's search, on a store holding only the task's corpus.

    ``reranker`` is what was trained on the task's train rows; None measures BM25 alone. With a
    ``confidence`` model it also records which hits the answer page would show, for the test
    questions and for ``unanswerable`` ones (questions the corpus cannot answer).
    ``other_names``: also search for the other names of the entities a question names
    (knowledge/, measured in docs/knowledge.md; off in the product). ``dense``: with e5
    retrieval, its cut by ``dense_confidence``. ``departments``: the department
    model trained with them (a confidence feature; the documents carry their rows' labels).
    ``judged``: answers judged by hand for some questions, a second measure of the cut.
    """

    def __init__(
        self,
        reranker: TranslationReranker | None,
        confidence: ConfidenceModel | None = None,
        unanswerable: Sequence[str] = (),
        name: str = "langzhong",
        other_names: Callable[[str], list[str]] | None = None,
        dense: bool = False,
        dense_confidence: ConfidenceModel | None = None,
        departments: DepartmentModel | None = None,
        judged: Judgements | None = None,
    ) -> None:
        self.reranker, self.name = reranker, name
        self.judged = judged or {}
        self.departments = departments
        self.dense = dense
        self.confidence = dense_confidence if dense else confidence
        self.other_names = other_names
        self.unanswerable = list(unanswerable)
        self.shown: dict[str, list[str]] = {}
        self.best: dict[str, bool] = {}  # whether the page names its first hit the best answer
        self.confidences: dict[str, dict[str, float]] = {}
        self.unanswerable_shown: list[int] = []
        self.unanswerable_best = 0

    def run(self, task: Task) -> Run:
        from langzhong.service import Service  # the same wiring as the CLI and the site

        with tempfile.TemporaryDirectory() as tmp:
            # as content ingested after install: every answer embedded through the product's
            # own write path, none from the package's shipped vectors
            service = Service(Settings.load(Path(tmp)), known_vectors=not self.dense)
            service.searcher.reranker = self.reranker
            service.searcher.confidence = self.confidence
            service.searcher.other_names = self.other_names
            service.searcher.dense_confidence = self.confidence
            service.searcher.department_lift = self.departments.lift if self.departments else None
            if not self.dense:
                service.searcher.dense = None
            articles = [
                Article(
                    id=doc,
                    kind="qa",
                    title="",
                    department=task.departments.get(doc),
                    sections=(Section(heading="回答", level=1, text=text),),
                )
                for doc, text in task.corpus.items()
            ]
            service.writing.write_articles(articles)
            run = {}
            for qid, text in task.queries.items():
                results = service.searcher.search(text, count=DEPTH)
                run[qid] = {c.article.id: c.score for c in results.candidates}
                if self.confidence is not None:
                    answer = service.asking.ask(text)
                    self.shown[qid] = [hit.id for hit in answer.hits]
                    self.best[qid] = answer.best
                    self.confidences[qid] = {
                        c.article.id: c.confidence for c in results.candidates if c.confidence
                    }
            if self.confidence is not None:
                pages = [service.asking.ask(q) for q in self.unanswerable]
                self.unanswerable_shown = [len(page.hits) for page in pages]
                self.unanswerable_best = sum(page.best for page in pages)
            service.close()
        return run

    def precision(self, qrels: dict[str, dict[str, int]], run: Run) -> dict[str, Any]:
        """What the confidence cut shows, beside the uncut first page (see docs/ranking.md)."""
        top10 = {
            q: sorted(docs, key=docs.__getitem__, reverse=True)[:PAGE_SIZE]
            for q, docs in run.items()
        }
        n = len(qrels)
        in_top = sum(any(d in qrels[q] for d in top10.get(q, ())) for q in qrels) / n
        shown = sum(any(d in qrels[q] for d in self.shown.get(q, ())) for q in qrels) / n
        figures: dict[str, Any] = {
            "threshold": self.confidence.threshold if self.confidence else None,
            "relevant_in_top10": in_top,
            "relevant_shown": shown,
            "kept_ratio": shown / in_top if in_top else 0.0,
            "mean_shown": sum(len(self.shown.get(q, ())) for q in qrels) / n,
        }
        figures.update(self._best_answer(qrels))
        if self.judged:
            figures["judged"] = judged_cut(self.judged, top10, self.shown, self.best)
        pairs = [
            (p, doc in qrels[q]) for q, docs in self.confidences.items() for doc, p in docs.items()
        ]
        if pairs:
            predicted = np.array([p for p, _ in pairs])
            observed = np.array([label for _, label in pairs], float)
            figures["brier"] = float(np.mean((predicted - observed) ** 2))
            figures["reliability"] = reliability(predicted, observed)
        if self.unanswerable_shown:
            figures["unanswerable_questions"] = len(self.unanswerable_shown)
            figures["unanswerable_mean_shown"] = sum(self.unanswerable_shown) / len(
                self.unanswerable_shown
            )
            figures["unanswerable_best"] = self.unanswerable_best
        return figures

    def _best_answer(self, qrels: dict[str, dict[str, int]]) -> dict[str, float]:
        """How often the page names a best answer, and how often that first hit is the relevant
        answer, against the first hit of the pages that list hits without naming one."""
        with_hits = [q for q in qrels if self.shown.get(q)]
        named = [q for q in with_hits if self.best.get(q)]
        unnamed = [q for q in with_hits if not self.best.get(q)]

        def first_right(questions: list[str]) -> float:
            right = sum(self.shown[q][0] in qrels[q] for q in questions)
            return right / len(questions) if questions else 0.0

        return {
            "best_named": len(named) / max(len(qrels), 1),
            "best_right": first_right(named),
            "first_right_unnamed": first_right(unnamed),
        }


def jieba_tokens(text: str) -> list[str]:
    """What a user of jieba gets out of the box: default dictionary, punctuation dropped."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not our output
    return [w for w in jieba.lcut(text) if _PUNCT.sub("", w)]


def char_tokens(text: str) -> list[str]:
    return list(_PUNCT.sub("", text))


class Bm25s:
    def __init__(self, name: str, tokenize: Callable[[str], list[str]]) -> None:
        self.name, self.tokenize = name, tokenize

    def run(self, task: Task) -> Run:
        import bm25s

        ids = list(task.corpus)
        model = bm25s.BM25()
        model.index([self.tokenize(task.corpus[d]) for d in ids], show_progress=False)
        qids = list(task.queries)
        tokens = [self.tokenize(task.queries[q]) or ["\u0000"] for q in qids]
        docs, scores = model.retrieve(tokens, k=min(DEPTH, len(ids)), show_progress=False)
        return {
            q: {ids[d]: float(s) for d, s in zip(docs[i], scores[i], strict=True) if s > 0}
            for i, q in enumerate(qids)
        }


class RankBm25:
    name = "rank_bm25-jieba"

    def run(self, task: Task) -> Run:
        from rank_bm25 import BM25Okapi

        ids = list(task.corpus)
        model = BM25Okapi([jieba_tokens(task.corpus[d]) for d in ids])
        run = {}
        for qid, text in task.queries.items():
            scores = model.get_scores(jieba_tokens(text))
            top = np.argsort(-scores)[:DEPTH]
            run[qid] = {ids[i]: float(scores[i]) for i in top if scores[i] > 0}
        return run


class Dense:
    """A local sentence-transformers model (``--model PATH``); nothing is downloaded."""

    def __init__(self, path: Path) -> None:
        self.path, self.name = path, f"dense:{path.name}"

    def run(self, task: Task) -> Run:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise RuntimeError("--model needs the sentence-transformers package") from error
        model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        ids, qids = list(task.corpus), list(task.queries)
        docs = model.encode([task.corpus[d] for d in ids], normalize_embeddings=True, batch_size=64)
        queries = model.encode(
            [task.queries[q] for q in qids], normalize_embeddings=True, batch_size=64
        )
        sims = queries @ docs.T
        run = {}
        for i, qid in enumerate(qids):
            top = np.argsort(-sims[i])[:DEPTH]
            run[qid] = {ids[j]: float(sims[i, j]) for j in top}
        return run


PEERS: dict[str, Callable[[], System]] = {
    "bm25s-jieba": lambda: Bm25s("bm25s-jieba", jieba_tokens),
    "bm25s-char": lambda: Bm25s("bm25s-char", char_tokens),
    "rank_bm25-jieba": RankBm25,
}
