"""The confidence model fitted to judged answers (docs/judging.md), so that a hit's confidence
means P(it answers the point the patient asked), and its two bars chosen on judged validation.

Examples: for each judged training question, the reranked head of the product's own search (the
shipped reranker, e5 on) over every answer of the dataset, each candidate with the features the
site computes (``Searcher.head_features``: the ranking's, e5's and the asked point's); a judged
2 is a positive, a 0 or 1 a negative, a candidate never judged is left out. The bars: a hit is
shown from ``threshold`` on, the highest that still keeps an answer shown for ``KEPT_TARGET`` of
the validation questions with one in their top 10 (hiding answers is the cost a higher bar pays;
measured, no bar kept 0.9 with 0.6 of the shown hits answers: docs/ranking.md); the first hit is
named 「最佳回答」 from ``best`` on, the lowest at which those named are at least
``BEST_ANSWER_TARGET`` answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from langzhong.search.confidence import ConfidenceModel
from langzhong.training.confidence import _fit_logistic

PAGE = 10
KEPT_TARGET = 0.9
BEST_ANSWER_TARGET = 0.7
BARS = np.round(np.arange(0.05, 0.951, 0.01), 2)


@dataclass(frozen=True)
class JudgedQuestion:
    features: np.ndarray  # one row per reranked head candidate, in rank order
    grades: np.ndarray  # the judged grade of each, -1 where never judged


def examples(
    entries: Sequence[dict],
    head_features: Callable[[str], tuple[list[str], np.ndarray]],
) -> list[JudgedQuestion]:
    """``entries``: lines of a judged file; ``head_features``: the product's head for a question
    (document ids being the answers' keys)."""
    found = []
    for entry in entries:
        grades = {item["answer"]: item["grade"] for item in entry["judged"]}
        keys, features = head_features(entry["question"])
        if len(keys):
            graded = np.array([grades.get(k, -1) for k in keys])
            found.append(JudgedQuestion(features, graded))
    return found


def page_figures(
    model: ConfidenceModel, questions: Sequence[JudgedQuestion], threshold: float, best: float
) -> dict[str, float]:
    """What the page would show of judged questions at these bars (the order by confidence, as
    the site's; unjudged hits are counted as not answering)."""
    shown_hits = answers = off_topic = kept = in_top = with_hits = first = named = named_ok = 0
    for q in questions:
        p = model.predict(q.features)
        order = np.argsort(-p, kind="stable")[:PAGE]
        grades, conf = q.grades[order], p[order]
        shown = conf >= threshold
        in_top += bool((grades == 2).any())
        kept += bool((grades[shown] == 2).any())
        shown_hits += int(shown.sum())
        answers += int((grades[shown] == 2).sum())
        off_topic += int((grades[shown] == 0).sum())
        if shown.any():
            with_hits += 1
            first += grades[0] == 2
            if conf[0] >= best:
                named += 1
                named_ok += grades[0] == 2
    n = max(len(questions), 1)
    return {
        "mean_shown": shown_hits / n,
        "shown_that_answer": answers / max(shown_hits, 1),
        "shown_off_topic": off_topic / max(shown_hits, 1),
        "kept_ratio": kept / max(in_top, 1),
        "first_shown_answers": first / max(with_hits, 1),
        "best_named": named / n,
        "best_answers": named_ok / max(named, 1),
    }


def fit_judged(
    train: Sequence[JudgedQuestion],
    validation: Sequence[JudgedQuestion],
    unanswerable: Sequence[np.ndarray] = (),
) -> tuple[ConfidenceModel, dict]:
    """The model fitted on ``train``'s judged candidates, its bars chosen on ``validation``
    (``unanswerable``: feature rows of questions the corpus cannot answer, reported)."""
    x = np.concatenate([q.features[q.grades >= 0] for q in train])
    y = np.concatenate([q.grades[q.grades >= 0] == 2 for q in train])
    mean, scale, coef, intercept = _fit_logistic(x, y)
    model = ConfidenceModel(mean, scale, coef, intercept, threshold=0.5)
    figures = {float(t): page_figures(model, validation, t, t) for t in BARS}
    threshold = max(
        (t for t, f in figures.items() if f["kept_ratio"] >= KEPT_TARGET), default=float(BARS[0])
    )
    best = min(
        (
            t
            for t in BARS
            if t >= threshold
            and page_figures(model, validation, threshold, float(t))["best_answers"]
            >= BEST_ANSWER_TARGET
        ),
        default=float(BARS[-1]),
    )
    model = ConfidenceModel(mean, scale, coef, intercept, float(threshold), float(best))
    report = {
        "train_questions": len(train),
        "train_candidates": len(y),
        "validation_questions": len(validation),
        "threshold": float(threshold),
        "best": float(best),
        "validation": page_figures(model, validation, threshold, best),
        "unanswerable_mean_shown": (
            float(np.mean([(model.predict(f) >= threshold).sum() for f in unanswerable]))
            if unanswerable
            else None
        ),
        "by_threshold": {t: {k: round(v, 3) for k, v in f.items()} for t, f in figures.items()},
    }
    return model, report
