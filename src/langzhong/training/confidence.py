"""Training the per-hit confidence model and choosing its threshold, on training rows only.

Examples come from the validation fifth of the training rows (``models.py``): each held-out
question, asked both as title + description and as the short title, against an index of every
training answer, ranked by the reranker fitted on the other four fifths. Positives are the
question's own answer and the answers of rows with the identical title; negatives are the other
reranked candidates. Half of the questions fit a logistic model; the other half choose the
threshold and measure calibration. (LightGBM did no better on the same split: at the same
number of hits shown it kept the same share of relevant answers, with Brier 0.0081 vs 0.0084.)
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from langzhong.evaluation.metrics import reliability
from langzhong.search.confidence import ConfidenceModel

PAGE = 10
# Hits shown per question, on average, that the threshold may cost: it is the lowest threshold
# (the most relevant answers kept) within that budget. Measured on validation, a budget of 5
# keeps about 0.88 of the relevant answers the uncut top 10 holds, and no threshold keeps 0.9
# with fewer than 5.5 hits; 4.5 leaves a margin for the target of at most 5 (docs/ranking.md).
MAX_MEAN_SHOWN = 4.5
THRESHOLDS = np.round(np.arange(0.001, 0.9, 0.001), 3)
L2 = 1.0


@dataclass(frozen=True)
class Question:
    title: str  # groups the question's phrasings: both stay on one side of the split
    features: np.ndarray  # one row per reranked candidate, in rank order
    relevant: np.ndarray  # bool per candidate


def _fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """L2-regularised logistic regression (L-BFGS) on standardised features."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    target = y.astype(float)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        logits = z @ w[:-1] + w[-1]
        p = 1 / (1 + np.exp(-logits))
        value = np.logaddexp(0, logits).sum() - target @ logits + 0.5 * L2 * w[:-1] @ w[:-1]
        grad = np.append(z.T @ (p - target) + L2 * w[:-1], (p - target).sum())
        return float(value), grad

    found = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
    return mean, scale, found.x[:-1], float(found.x[-1])


def cut_figures(
    confidences: Sequence[np.ndarray], relevant: Sequence[np.ndarray], threshold: float
) -> dict[str, float]:
    """What the cut does to a set of questions: the share whose relevant answer is in the uncut
    top 10 and among the shown hits, their ratio, and hits shown per question."""
    in_top, kept, shown = 0, 0, 0
    for conf, rel in zip(confidences, relevant, strict=True):
        chosen = np.flatnonzero(conf >= threshold)[:PAGE]
        in_top += bool(rel[:PAGE].any())
        kept += bool(rel[chosen].any())
        shown += len(chosen)
    n = max(len(confidences), 1)
    return {
        "relevant_in_top10": in_top / n,
        "relevant_shown": kept / n,
        "kept_ratio": kept / in_top if in_top else 0.0,
        "mean_shown": shown / n,
    }


def fit_confidence(questions: Sequence[Question]) -> tuple[ConfidenceModel, dict]:
    """The model fitted on half of the questions and the threshold chosen on the other half,
    with that half's calibration and cut figures."""
    side = [zlib.crc32(q.title.encode()) % 2 for q in questions]
    fit = [q for q, s in zip(questions, side, strict=True) if s == 0]
    held = [q for q, s in zip(questions, side, strict=True) if s == 1]
    x = np.concatenate([q.features for q in fit])
    y = np.concatenate([q.relevant for q in fit])
    mean, scale, coef, intercept = _fit_logistic(x, y)
    model = ConfidenceModel(mean, scale, coef, intercept, threshold=0.5)
    confidences = [model.predict(q.features) for q in held]
    relevant = [q.relevant for q in held]
    threshold = min(
        (
            t
            for t in THRESHOLDS
            if cut_figures(confidences, relevant, t)["mean_shown"] <= MAX_MEAN_SHOWN
        ),
        default=float(THRESHOLDS[-1]),
    )
    model = ConfidenceModel(mean, scale, coef, intercept, float(threshold))
    p, labels = np.concatenate(confidences), np.concatenate(relevant)
    report = {
        "fit_questions": len(fit),
        "threshold_questions": len(held),
        "threshold": float(threshold),
        "brier": round(float(np.mean((p - labels) ** 2)), 5),
        "reliability": reliability(p, labels),
        **{k: round(v, 4) for k, v in cut_figures(confidences, relevant, threshold).items()},
    }
    return model, report
