"""nDCG@10, MRR@10 and Recall@100 with trec_eval's implementation (pytrec_eval); the
confidence's reliability table."""

from __future__ import annotations

import itertools

import numpy as np
import pytrec_eval

Run = dict[str, dict[str, float]]


def _top(run: Run, k: int) -> Run:
    return {q: dict(sorted(d.items(), key=lambda kv: -kv[1])[:k]) for q, d in run.items()}


def evaluate(qrels: dict[str, dict[str, int]], run: Run) -> dict[str, float]:
    """Mean of each metric over all queries; a query with no results scores 0."""
    full = {q: run.get(q) or {"__none__": 0.0} for q in qrels}
    ndcg = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(full)
    mrr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(_top(full, 10))
    recall = pytrec_eval.RelevanceEvaluator(qrels, {"recall.100"}).evaluate(_top(full, 100))
    n = len(qrels)
    return {
        "ndcg@10": sum(v["ndcg_cut_10"] for v in ndcg.values()) / n,
        "mrr@10": sum(v["recip_rank"] for v in mrr.values()) / n,
        "recall@100": sum(v["recall_100"] for v in recall.values()) / n,
    }


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[dict]:
    """Mean predicted confidence against the observed share of answers, per confidence band."""
    table = []
    edges = np.linspace(0, 1, bins + 1)
    for low, high in itertools.pairwise(edges):
        inside = (probabilities >= low) & ((probabilities < high) | (high == 1))
        if inside.any():
            table.append(
                {
                    "band": f"{low:.1f}–{high:.1f}",
                    "n": int(inside.sum()),
                    "predicted": round(float(probabilities[inside].mean()), 4),
                    "observed": round(float(labels[inside].mean()), 4),
                }
            )
    return table
