"""The semantic net's examples and thresholds (``triage/net.py``), from the tune half only.

Examples: every tune-half phrasing that describes a rule's sign (positive, under its rule), and
as negatives the tune-half near misses and everyday questions (the dataset's training split, in
full and by title, and the suites' everyday lists). Thresholds: for each level, the (floor,
margin) pair that catches the most tune-half phrasings of that level, measured leave-one-out,
each phrasing scored without its own vector among the examples, so the figure is the net's on
phrasings it has not seen; subject to at most ``MAX_NEAR_MISS_ALARMS`` of the near misses and
``MAX_EVERYDAY_ALARMS`` of the everyday questions raising a notice the rules did not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from langzhong.evaluation.safety import LEVELS, Phrasing
from langzhong.triage.net import NEAREST, NEGATIVE, SemanticNet, Thresholds

HARD_NEGATIVES = 20_000  # everyday questions kept as negatives, the nearest to a positive first
MAX_NEAR_MISS_ALARMS = 0.05
MAX_EVERYDAY_ALARMS = 0.001
FLOORS = np.round(np.arange(0.70, 0.975, 0.005), 3)
MARGINS = np.round(np.arange(0.0, 0.061, 0.005), 3)  # nearer its signs than anything else


@dataclass(frozen=True)
class NetReport:
    levels: dict[str, dict[str, float]]  # per level: floor, margin, recall (alone, leave-one-out)
    examples: int
    negatives: int


def _top_mean(cosines: np.ndarray) -> np.ndarray:
    """Per row, the mean of the NEAREST largest values (fewer where a row has fewer)."""
    k = min(NEAREST, cosines.shape[1])
    if k == 0:
        return np.full(cosines.shape[0], -1.0)
    return np.sort(np.partition(cosines, -k, axis=1)[:, -k:], axis=1).mean(axis=1)


def _scores(
    vectors: np.ndarray, bank: np.ndarray, rule_of: np.ndarray, rules: int, own: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(texts × rules) rule scores and the negatives' score of each text, leave-one-out: a text
    that is itself an example (``own[i]`` its row in the bank, or -1) is scored without it."""
    cosines = vectors @ bank.T
    rows = np.nonzero(own >= 0)[0]
    cosines[rows, own[rows]] = -np.inf
    per_rule = np.stack([_top_mean(cosines[:, rule_of == r]) for r in range(rules)], axis=1)
    return per_rule, _top_mean(cosines[:, rule_of == NEGATIVE])


def _fired_levels(
    per_rule: np.ndarray, negative: np.ndarray, rule_levels: np.ndarray, bars: dict[str, Thresholds]
) -> np.ndarray:
    """For each text, the index in LEVELS of what the net would raise (len(LEVELS): nothing),
    as ``SemanticNet.fired`` decides: the best-scoring rule whose level's bar it clears."""
    clears = np.zeros_like(per_rule, dtype=bool)
    for index, level in enumerate(LEVELS):
        if level in bars:
            bar = bars[level]
            columns = rule_levels == index
            score = per_rule[:, columns]
            clears[:, columns] = (score >= bar.floor) & (score - negative[:, None] >= bar.margin)
    masked = np.where(clears, per_rule, -np.inf)
    best = masked.argmax(axis=1)
    return np.where(np.isfinite(masked.max(axis=1)), rule_levels[best], len(LEVELS))


def build_net(
    phrasings: Sequence[Phrasing],
    everyday: Sequence[str],
    embed: Callable[[Sequence[str]], np.ndarray],
    rule_ids: Sequence[str],
    rules_level: Callable[[str], int],
    open_rules: Callable[[str], Sequence[str]],
    model_hash: str,
    on_step: Callable[[str], None] = print,
) -> tuple[SemanticNet, NetReport]:
    """The net from the tune-half ``phrasings`` and the ``everyday`` questions
    (``rules_level``: the index in LEVELS of what the rules alone raise for a text, len(LEVELS)
    for nothing; ``open_rules``: the rules the net may raise for a text, as triage asks it: none
    where it is not asked at all, none whose ``unless`` the text says)."""
    tune = [p for p in phrasings if p.split == "tune"]
    hits = [p for p in tune if p.expect == "hit"]
    misses = [p for p in tune if p.expect == "miss"]
    on_step(f"embedding {len(tune)} tune phrasings and {len(everyday)} everyday questions")
    hit_vectors = embed([p.text for p in hits])
    miss_vectors = embed([p.text for p in misses])
    everyday_vectors = embed(everyday)
    nearest_positive = (everyday_vectors @ hit_vectors.T).max(axis=1)
    hard = np.argsort(-nearest_positive)[:HARD_NEGATIVES]

    column = {rule: i for i, rule in enumerate(rule_ids)}
    bank = np.concatenate([hit_vectors, miss_vectors, everyday_vectors[hard]])
    rule_of = np.concatenate(
        [[column[p.rule] for p in hits], np.full(len(misses) + len(hard), NEGATIVE)]
    ).astype(np.int64)
    level_of_rule = {p.rule: LEVELS.index(p.level) for p in phrasings}
    rule_levels = np.array([level_of_rule.get(rule, len(LEVELS)) for rule in rule_ids])

    own_everyday = np.full(len(everyday), -1)
    own_everyday[hard] = len(hits) + len(misses) + np.arange(len(hard))
    scored = {
        "hits": _scores(hit_vectors, bank, rule_of, len(rule_ids), np.arange(len(hits))),
        "misses": _scores(
            miss_vectors, bank, rule_of, len(rule_ids), len(hits) + np.arange(len(misses))
        ),
        "everyday": _scores(everyday_vectors, bank, rule_of, len(rule_ids), own_everyday),
    }
    texts = {
        "hits": [p.text for p in hits],
        "misses": [p.text for p in misses],
        "everyday": everyday,
    }
    for name, (per_rule, _) in scored.items():  # what the net is not asked about a text
        for row, text in enumerate(texts[name]):
            allowed = set(open_rules(text))
            per_rule[row, [rule not in allowed for rule in rule_ids]] = -np.inf
    hit_levels = np.array([LEVELS.index(p.level) for p in hits])
    everyday_by_rules = np.array([rules_level(text) for text in everyday])
    bars: dict[str, Thresholds] = {}
    report: dict[str, dict[str, float]] = {}
    for index, level in enumerate(LEVELS):
        best: tuple[float, Thresholds] | None = None
        for floor in FLOORS:
            for margin in MARGINS:
                trial = {**bars, level: Thresholds(float(floor), float(margin))}
                if not _within_budget(scored, rule_levels, trial, everyday_by_rules):
                    continue
                fired = _fired_levels(*scored["hits"], rule_levels, trial)
                ours = hit_levels == index
                recall = float((fired[ours] <= index).mean()) if ours.any() else 0.0
                if best is None or recall > best[0]:
                    best = (recall, trial[level])
        if best is not None:
            bars[level] = best[1]
            report[level] = {"floor": best[1].floor, "margin": best[1].margin, "recall": best[0]}
            on_step(
                f"net, {level}: floor {best[1].floor}, margin {best[1].margin}, "
                f"recall alone (leave-one-out) {best[0]:.3f}"
            )
    net = SemanticNet(bank, rule_of, tuple(rule_ids), bars, model_hash)
    return net, NetReport(report, len(bank), int((rule_of == NEGATIVE).sum()))


def _within_budget(
    scored: dict[str, tuple[np.ndarray, np.ndarray]],
    rule_levels: np.ndarray,
    bars: dict[str, Thresholds],
    by_rules: np.ndarray,
) -> bool:
    """Whether the net raises a notice on few enough near misses and adds few enough to the
    rules' on everyday questions."""
    misses = _fired_levels(*scored["misses"], rule_levels, bars)
    if (misses < len(LEVELS)).mean() > MAX_NEAR_MISS_ALARMS:
        return False
    everyday = _fired_levels(*scored["everyday"], rule_levels, bars)
    added = (everyday < len(LEVELS)) & (everyday < by_rules)
    return added.mean() <= MAX_EVERYDAY_ALARMS
