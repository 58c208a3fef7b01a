"""The models search reads, as the package ships them (``langzhong train`` writes them;
docs/ranking.md)."""

from __future__ import annotations

from langzhong.data import load_shipped
from langzhong.search.confidence import ConfidenceModel
from langzhong.search.rerank import TranslationReranker
from langzhong.search.translation import TranslationModel

RERANKER_FILE = "translation.npz"
CONFIDENCE_FILE = "confidence.npz"
DENSE_CONFIDENCE_FILE = "confidence-dense.npz"  # reads the e5 cosines too
# Fitted to judged answers (P(it answers the point asked), with the asked point's features) by
# `langzhong train --part judged`; search uses it in place of the dense one where it ships.
JUDGED_CONFIDENCE_FILE = "confidence-judged.npz"


def shipped_reranker() -> TranslationReranker | None:
    """The reranker trained on the train split of the demo dataset, when the package has one."""
    model = load_shipped(RERANKER_FILE, TranslationModel.load)
    return TranslationReranker(model) if model else None


def shipped_confidence(dense: bool = False) -> ConfidenceModel | None:
    """The per-hit confidence model trained with the shipped reranker, when the package has one
    (``dense``: the one that reads e5 cosines)."""
    if not dense:
        return load_shipped(CONFIDENCE_FILE, ConfidenceModel.load)
    judged = load_shipped(JUDGED_CONFIDENCE_FILE, ConfidenceModel.load)
    return judged or load_shipped(DENSE_CONFIDENCE_FILE, ConfidenceModel.load)
