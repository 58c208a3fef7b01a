"""Triage: from the question alone, one decision — how urgent (crisis, emergency, urgent, or
none; the rules of data/red_flags.toml, then the semantic net), which department to see (or
none), and the 「什么时候需要就医」 guides of its topics. ``answer/`` composes the page from it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langzhong.core import GuideTopic, KnowledgeCard, RedFlag
from langzhong.question import Question
from langzhong.triage.department import suggest_department
from langzhong.triage.guide import guides_for
from langzhong.triage.net import net_flag
from langzhong.triage.red_flags import LEVELS, by_level, gates, red_flags, rules

CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Triage:
    flags: tuple[RedFlag, ...]  # the most pressing first
    department: str | None
    guide: tuple[GuideTopic, ...]

    @property
    def crisis(self) -> bool:
        return any(flag.level == "crisis" for flag in self.flags)

    @property
    def emergency(self) -> bool:
        return not self.crisis and any(flag.level == "emergency" for flag in self.flags)


def urgent_signs(question: Question, model_hash: str | None = None) -> tuple[RedFlag, ...]:
    """The rules' flags, and the net's where it finds a sign more pressing than theirs
    (``model_hash``: the e5 weights that made ``question.vector``)."""
    flags = red_flags(question)
    if question.vector is None or model_hash is None or not CJK.search(question.normalized):
        return flags  # no model, or nothing said in Chinese for it to read
    if not gates().open(question.normalized):
        return flags
    if flags and flags[0].level != "urgent":
        # An emergency the rules name (an overdose taken) needs 120 first: the net does not turn
        # it into a crisis page, where 120 is the last line; a crisis is as pressing as it gets.
        return flags
    text = question.normalized
    open_rules = {r.flag.id: r.flag for r in rules() if not r.vetoed(text)}
    found = net_flag(question.vector, model_hash, open_rules)
    worst = LEVELS.index(flags[0].level) if flags else len(LEVELS)
    if found is not None and LEVELS.index(found.level) < worst:
        return by_level((found, *flags))
    return flags


def triage(
    question: Question, cards: Sequence[KnowledgeCard] = (), model_hash: str | None = None
) -> Triage:
    """The triage decision for a question (``cards``: the knowledge graph's cards for what it
    names, whose 就诊科室 the department may take)."""
    flags = urgent_signs(question, model_hash)
    department = suggest_department(question, flags, cards)
    return Triage(flags, department, guides_for(question))
