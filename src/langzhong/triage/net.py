"""The semantic net beside the red-flag rules: a question whose e5 vector lies near a rule's
example phrasings, and nearer them than to the near misses, gets that rule's notice.

The rules match the words they were written from; the net catches the same sign said in other
words (「心口像压了块石头」). Its examples are the tune half of each rule's phrasing suite
(tests/data/red-flags/), its negatives the near misses of that half and everyday questions of the
training split; its thresholds, one pair per level, were chosen on the tune half
(``langzhong train --part triage``, training/triage_net.py). The rules stay the first line and
keep their negation handling; the net is asked only about questions the rules' gates leave open
(not about a settled past episode, a question asked ahead of time, or a mild or recurring form:
``triage/red_flags.py: Gates.open``), since near misses say those in the same words as hits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from langzhong.core import RedFlag
from langzhong.data import load_shipped

NET_FILE = "red_flag_net.npz"
NEAREST = 5  # a rule's score: the mean cosine of the question's nearest examples of it
NEGATIVE = -1  # the rule index of a negative example


@dataclass(frozen=True)
class Thresholds:
    """A rule fires when its score reaches ``floor`` and beats the negatives' by ``margin``."""

    floor: float
    margin: float


@dataclass(frozen=True)
class SemanticNet:
    vectors: np.ndarray  # (examples, dim) float32, unit rows
    rule_of: np.ndarray  # each example's index into ``rule_ids``, or NEGATIVE
    rule_ids: tuple[str, ...]
    levels: dict[str, Thresholds]  # by the level of the rule
    model_hash: str  # the e5 weights the vectors were made with

    def scores(self, vector: np.ndarray) -> tuple[np.ndarray, float]:
        """Each rule's score for a question vector, and the negatives' score."""
        cosines = self.vectors @ vector
        per_rule = np.array(
            [_nearest_mean(cosines[self.rule_of == i]) for i in range(len(self.rule_ids))]
        )
        return per_rule, _nearest_mean(cosines[self.rule_of == NEGATIVE])

    def fired(self, vector: np.ndarray, level_of: dict[str, str]) -> str | None:
        """The id of the rule the question is nearest to, when it clears its level's bar."""
        per_rule, negative = self.scores(vector)
        for index in np.argsort(-per_rule):
            rule_id = self.rule_ids[index]
            bar = self.levels.get(level_of.get(rule_id, ""))
            if bar and per_rule[index] >= bar.floor and per_rule[index] - negative >= bar.margin:
                return rule_id
        return None

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            vectors=self.vectors.astype(np.float16),
            rule_of=self.rule_of.astype(np.int16),
            rule_ids=np.array(self.rule_ids),
            levels=np.array(list(self.levels)),
            bars=np.array([[t.floor, t.margin] for t in self.levels.values()], np.float32),
            model_hash=np.array(self.model_hash),
        )

    @classmethod
    def load(cls, path: Path) -> SemanticNet:
        with np.load(path) as data:
            vectors = data["vectors"].astype(np.float32)
            levels = {
                str(level): Thresholds(float(bar[0]), float(bar[1]))
                for level, bar in zip(data["levels"], data["bars"], strict=True)
            }
            return cls(
                vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
                data["rule_of"].astype(np.int64),
                tuple(str(r) for r in data["rule_ids"]),
                levels,
                str(data["model_hash"]),
            )


def _nearest_mean(cosines: np.ndarray) -> float:
    if not len(cosines):
        return -1.0
    top = np.partition(cosines, -NEAREST)[-NEAREST:] if len(cosines) > NEAREST else cosines
    return float(top.mean())


@functools.cache
def shipped_net() -> SemanticNet | None:
    return load_shipped(NET_FILE, SemanticNet.load)


def net_flag(vector: np.ndarray, model_hash: str, flags: dict[str, RedFlag]) -> RedFlag | None:
    """The shipped net's flag for a question vector made by the model ``model_hash`` (None: no
    net shipped, vectors of another model, or nothing near enough)."""
    net = shipped_net()
    if net is None or net.model_hash != model_hash:
        return None
    fired = net.fired(vector, {rule_id: flag.level for rule_id, flag in flags.items()})
    return None if fired is None else flags[fired].model_copy(update={"matched": "net"})
