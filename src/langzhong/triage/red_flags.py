"""Red-flag signs named in a question: the rules of data/red_flags.toml, each with its sources.

The rules are triage's first line; the semantic net (``triage/net.py``) catches phrasings they
were not written from. How a rule matches is written at the top of the data file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from langzhong.core import RedFlag
from langzhong.data import load_toml
from langzhong.question import Question

# A sign right after a negation in the same clause is denied, not reported: 没有发烧, 不发烧了.
# 不 inside a verb (管不住, 不小心, 止不住) denies nothing, nor 不 in a question (是不是,
# 要不要), nor 没 in a word of its own (没用, 没意义, 没劲: 活着没用了、拖累儿女).
_NEGATED_TAIL = re.compile(
    r"(没(?!有?(?:用|意思|意义|劲|盼头|希望))有?|无|(?<![要是])不(?!住|了|出|到|上|下|起|动|清|停|止|醒|开|来|去|见|得|小心|舒服|行)|未|否认|并无|从未)"
    r"[^，。,.;；!?！？ ]{0,3}$"
)
LEVELS = ("crisis", "emergency", "urgent")
_CLAUSE_END = re.compile(r"[，。,.;；!?！？\n ]")
_SENTENCE_END = re.compile(r"[。.;；!?！？\n]")
EPISODE_WINDOW = 25  # characters before a sign where a word of a recurring pattern counts
_FRAGMENT = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Gates:
    """Questions that raise nothing although a sign's words are in them."""

    history: re.Pattern[str]  # a past episode, now settled
    ahead: re.Pattern[str]  # asked ahead of time, or in general
    care: re.Pattern[str]  # about the long-term care of a diagnosed illness
    resolved: re.Pattern[str]  # it got better by itself
    now: re.Pattern[str]  # …unless something is happening now
    mild: re.Pattern[str]  # a mild or recurring form, for rules that say so
    handled: re.Pattern[str]  # the episode was already seen to (hospital, diagnosis)
    episodes: re.Pattern[str]  # the recurring pattern of a known illness

    def in_the_past(self, text: str) -> bool:
        """A past episode, now settled: what happens now is said after it, if at all."""
        past = self.history.search(text)
        return past is not None and not self.now.search(text, past.end())

    def open(self, text: str) -> bool:
        """Whether a question may raise a notice its words do not match exactly (the semantic
        net's): not settled, and with no word of a mild or recurring form anywhere."""
        return not self.settled(text) and not self.mild.search(text)

    def settled(self, text: str) -> bool:
        if self.handled.search(text):
            return True
        if self.in_the_past(text):
            return True
        asked_about = self.ahead, self.care, self.resolved
        return any(p.search(text) for p in asked_about) and not self.now.search(text)


@dataclass(frozen=True)
class Rule:
    flag: RedFlag
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]
    context: tuple[re.Pattern[str], ...]
    replaces: tuple[str, ...]
    patient: str | None  # the rule is about this kind of patient only (question.py's kinds)
    not_when_mild: bool

    def vetoed(self, text: str) -> bool:
        """Whether the question says the sign's words as a figure of speech or of something
        harmless (``unless``): neither the rule nor the semantic net raises it then."""
        return any(u.search(text) for u in self.unless)

    def matches(self, question: Question, gates: Gates) -> bool:
        text = question.normalized
        if self.patient is not None and not question.about(self.patient):
            return False
        if self.context and not any(c.search(text) for c in self.context):
            return False
        if self.vetoed(text):
            return False
        # A crisis is raised however the question is asked, unless it tells of one long past.
        if gates.in_the_past(text) if self.flag.level == "crisis" else gates.settled(text):
            return False
        return any(
            self._counts(text, match.start(_sign_group(match)), gates)
            for pattern in self.patterns
            for match in pattern.finditer(text)
        )

    def _counts(self, text: str, start: int, gates: Gates) -> bool:
        """Whether the sign found at ``start`` is said, not denied (or said as mild)."""
        clause_start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
        if _NEGATED_TAIL.search(text[clause_start:start]):
            return False
        if not self.not_when_mild:
            return True
        clause_end = next((m.start() for m in _CLAUSE_END.finditer(text, start)), len(text))
        sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
        sentence = text[max(sentence_start, start - EPISODE_WINDOW) : start]
        clause = text[clause_start:clause_end]
        if gates.now.search(clause):  # 突然说话有点不清楚: sudden, however mild the words
            return True
        return not (gates.mild.search(clause) or gates.episodes.search(sentence))


def _sign_group(match: re.Match[str]) -> int | str:
    return "sign" if "sign" in match.re.groupindex else match.lastindex or 0


@functools.cache
def _data() -> dict:
    return load_toml("red_flags.toml")


def _compiled(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    fragments = _data().get("fragments", {})
    return tuple(re.compile(_FRAGMENT.sub(lambda m: fragments[m[1]], p)) for p in patterns)


@functools.cache
def gates() -> Gates:
    raw = _data()["gates"]
    names = ("history", "ahead", "care", "resolved", "now", "mild", "handled", "episodes")
    return Gates(*_compiled(raw[name] for name in names))


@functools.cache
def rules() -> tuple[Rule, ...]:
    return tuple(
        Rule(
            flag=RedFlag(
                id=raw["id"],
                level=raw["level"],
                sign=raw["sign"],
                advice=raw["advice"],
                source=raw["source"],
                source_zh=raw["source_zh"],
                department=raw.get("department"),
            ),
            patterns=_compiled(raw["patterns"]),
            unless=_compiled(raw.get("unless", ())),
            context=_compiled(raw.get("context", ())),
            replaces=tuple(raw.get("replaces", ())),
            patient=raw.get("patient"),
            not_when_mild=raw.get("not_when_mild", False),
        )
        for raw in _data()["rule"]
    )


def red_flags(question: Question) -> tuple[RedFlag, ...]:
    """The red-flag signs the question describes by the rules, the most pressing first."""
    matched = [rule for rule in rules() if rule.matches(question, gates())]
    replaced = {rule_id for rule in matched for rule_id in rule.replaces}
    return by_level(rule.flag for rule in matched if rule.flag.id not in replaced)


def by_level(flags: Iterable[RedFlag]) -> tuple[RedFlag, ...]:
    """The flags, the most pressing first."""
    return tuple(sorted(flags, key=lambda flag: LEVELS.index(flag.level)))
