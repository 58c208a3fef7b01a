"""The systems ``langzhong eval`` compares on a retrieval task: langzhong as the site serves it
(with e5, and on its words alone), its variants, and the peers a user could pick instead, each
built from what was learned on the task's train rows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from langzhong.evaluation.dense import E5Dense, E5Vectors, ReciprocalRankFusion, Remembered
from langzhong.evaluation.judged import Judgements
from langzhong.evaluation.systems import PEERS, Dense, Langzhong, System
from langzhong.knowledge.cards import other_names
from langzhong.search.confidence import ConfidenceModel
from langzhong.search.rerank import TranslationReranker
from langzhong.search.translation import TranslationModel
from langzhong.triage.department_model import DepartmentModel

BASELINE = "bm25s-jieba"  # the peer every figure is compared with


class Learned(Protocol):
    """The models learned on the train rows (``training.models.Trained``)."""

    @property
    def reranker(self) -> TranslationModel: ...

    @property
    def confidence(self) -> ConfidenceModel: ...

    @property
    def dense_confidence(self) -> ConfidenceModel | None: ...

    @property
    def departments(self) -> DepartmentModel: ...


def compared_systems(
    learned: Learned,
    unanswerable: Sequence[str] = (),
    judgements: Judgements | None = None,
    vectors: E5Vectors | None = None,
    stock: E5Vectors | None = None,
    peers: bool = True,
    model: Path | None = None,
) -> list[System]:
    """langzhong first (with e5 where ``vectors``, the tuned e5, and a dense confidence model
    are there), then its variants and the peers; with ``stock`` (e5 as published), e5 alone and
    fused with langzhong and with bm25s; with ``model``, a local sentence-transformers model."""
    reranker = TranslationReranker(learned.reranker)
    with_e5 = vectors is not None and learned.dense_confidence is not None
    lexical = Remembered(
        Langzhong(
            reranker,
            learned.confidence,
            unanswerable,
            name="langzhong" + ("-lexical" * with_e5),
            departments=learned.departments,
            judged=judgements,
        )
    )
    systems: list[System] = [lexical]
    if with_e5:
        ours = Langzhong(
            reranker,
            None,
            unanswerable,
            dense=True,
            dense_confidence=learned.dense_confidence,
            departments=learned.departments,
            judged=judgements,
        )
        systems.insert(0, ours)
    systems += [
        Langzhong(None, name="langzhong-bm25-only"),
        Langzhong(
            reranker,
            learned.confidence,
            unanswerable,
            name="langzhong+synonyms",
            other_names=other_names,
            departments=learned.departments,
        ),
    ]
    chosen_peers = [Remembered(make()) for make in PEERS.values()] if peers else []
    systems += chosen_peers
    if stock:
        e5 = Remembered(E5Dense(stock))
        systems += [e5, ReciprocalRankFusion(f"{lexical.name}+e5-rrf", [lexical, e5])]
        if bm25s := next((p for p in chosen_peers if p.name == BASELINE), None):
            systems.append(ReciprocalRankFusion("bm25s+e5-rrf", [bm25s, e5]))
    if model:
        systems.append(Dense(model))
    return systems
