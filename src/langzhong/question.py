"""A patient's question, read once: every later stage (triage, search, answer) reads this.

The raw string is normalised and segmented here and nowhere after; who the patient is comes
from the words and ages it names (data/patients.toml); the e5 vector is made where the service
has the model, and read by triage's semantic net and by dense retrieval alike.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import numpy as np

from langzhong.data import load_toml
from langzhong.text import Analyzer, default_analyzer, normalize

CHILD_AGE = 14  # under this age a patient is seen in paediatrics
ELDERLY_AGE = 65
_DIGITS = {d: i for i, d in enumerate("零一二三四五六七八九")} | {"两": 2}
_AGE = re.compile(r"([0-9]{1,3}|[一二两三四五六七八九十]{1,3})(?:周岁|岁)")
_N = r"([0-9]{1,2}|[一二两三四五六七八九十]{1,3})"
_KID = r"(?:宝宝|婴儿|孩子|小孩|娃|男孩|女孩|儿子|女儿|孙子|孙女|外孙|老[大二三]|[二三小大]宝)"
_MONTHS_OLD = re.compile(
    rf"{_N}个(?:多|半)?月(?:大|的|{_KID})|{_KID}[^，。,]{{0,2}}?{_N}个(?:多|半)?月(?!了)"
)
_DAYS_OLD = re.compile(
    r"([0-9]{1,2}|[一二两三四五六七八九十]{1,3})(?:天|周)(?:大(?![便小])|的宝宝|的孩子|的婴儿|的娃|的新生儿)"
    r"|(?:宝宝|婴儿|孩子|娃|孙子|孙女)(?:才|刚|出生)?([0-9]{1,2}|[一二两三四五六七八九十]{1,3})(?:天|周)(?!了|多了|左右了)"
)


@dataclass(frozen=True)
class Question:
    """What the patient asked: ``text`` as typed, ``normalized`` (same length: offsets carry
    over), the search ``terms`` (repeats kept), who the ``patient`` is (``child``, ``baby`` for
    one under three months, ``pregnancy``, ``elderly``, ``after-surgery``) and the e5
    ``vector`` (None where the model is off)."""

    text: str
    normalized: str
    terms: tuple[str, ...]
    patient: frozenset[str] = frozenset()
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    point: str | None = None  # what it asks (data/points.toml), None where no cue says
    point_object: tuple[str, ...] = ()  # the terms of what it asks about: 能喝酒吗 → 酒

    def about(self, who: str) -> bool:
        return who in self.patient


@dataclass(frozen=True)
class Point:
    id: str
    patterns: tuple[re.Pattern[str], ...]
    object: re.Pattern[str] | None
    answers: tuple[str, ...]  # words an answer that speaks to the point uses


@functools.cache
def points() -> tuple[Point, ...]:
    return tuple(
        Point(
            raw["id"],
            tuple(re.compile(p) for p in raw["patterns"]),
            re.compile(raw["object"]) if "object" in raw else None,
            tuple(raw["answers"]),
        )
        for raw in load_toml("points.toml")["point"]
    )


def asked_point(normalized: str) -> tuple[Point | None, str]:
    """The point a normalised question asks, and the text of what it asks about ("" if none)."""
    for point in points():
        if any(p.search(normalized) for p in point.patterns):
            found = point.object.search(normalized) if point.object else None
            return point, found["object"] if found else ""
    return None, ""


@functools.cache
def _patient_words() -> tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]:
    return tuple(
        (who, tuple(re.compile(p) for p in raw["patterns"]))
        for who, raw in load_toml("patients.toml").items()
    )


def number(text: str) -> int:
    """A count written in digits or in Chinese numerals up to 99 (三, 十二, 二十)."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return _DIGITS.get(text[-1], 0)
    tens, _, ones = text.partition("十")
    return _DIGITS.get(tens, 1) * 10 + _DIGITS.get(ones, 0)


def who_is_the_patient(normalized: str) -> frozenset[str]:
    """The kinds of patient a normalised question is about, from ages and words."""
    found = {
        who for who, patterns in _patient_words() if any(p.search(normalized) for p in patterns)
    }
    ages = [number(match) for match in _AGE.findall(normalized)]
    pregnant = "pregnancy" in found
    months = [number(a or b) for a, b in _MONTHS_OLD.findall(normalized)] if not pregnant else []
    if ages and min(ages) >= CHILD_AGE:
        found.discard("child")  # 「我儿子30岁」 is an adult
        found.discard("baby")
        if max(ages) >= ELDERLY_AGE:
            found.add("elderly")
    elif (ages and min(ages) < CHILD_AGE) or months or _DAYS_OLD.search(normalized):
        found.add("child")
    if (months and min(months) < 3) or (not pregnant and _DAYS_OLD.search(normalized)):
        found |= {"child", "baby"}
    if "baby" in found:
        found.add("child")
    return frozenset(found)


def read_question(
    text: str, analyzer: Analyzer | None = None, vector: np.ndarray | None = None
) -> Question:
    normalized = normalize(text)
    analyzer = analyzer or default_analyzer()
    terms = analyzer.segment(normalized)
    point, about = asked_point(normalized)
    return Question(
        text,
        normalized,
        tuple(terms),
        who_is_the_patient(normalized),
        vector,
        point.id if point else None,
        tuple(analyzer.segment(about)) if about else (),
    )
