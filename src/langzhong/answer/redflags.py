"""Red-flag signs named in a question (rules and their sources in data/red_flags.toml)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from langzhong.core import RedFlag
from langzhong.data import load_toml
from langzhong.text import normalize

# A sign right after a negation in the same clause is denied, not reported: 没有发烧, 不发烧了.
_NEGATED_TAIL = re.compile(r"(没有|没|无|不|未|否认|并无|从未)[^，。,.;；!?！？]{0,3}$")
LEVELS = ("crisis", "emergency", "urgent")
_CLAUSE_END = re.compile(r"[，。,.;；!?！？\n]")


@dataclass(frozen=True)
class Rule:
    flag: RedFlag
    patterns: tuple[re.Pattern[str], ...]
    context: tuple[str, ...]
    replaces: tuple[str, ...]

    def matches(self, text: str) -> bool:
        if self.context and not any(word in text for word in self.context):
            return False
        # Negation is looked for right before the sign: the group named "sign", else the
        # pattern's last group, so that both 没有伤口红肿 and 伤口也不红 deny it.
        return any(
            not _negated(text, match.start(_sign_group(match)))
            for pattern in self.patterns
            for match in pattern.finditer(text)
        )


def _sign_group(match: re.Match[str]) -> int | str:
    return "sign" if "sign" in match.re.groupindex else match.lastindex or 0


def _negated(text: str, start: int) -> bool:
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    return bool(_NEGATED_TAIL.search(text[clause_start:start]))


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
            patterns=tuple(re.compile(p) for p in raw["patterns"]),
            context=tuple(normalize(word) for word in raw.get("context", ())),
            replaces=tuple(raw.get("replaces", ())),
        )
        for raw in load_toml("red_flags.toml")["rule"]
    )


def red_flags(question: str) -> tuple[RedFlag, ...]:
    """The red-flag signs the question describes, the most pressing first."""
    text = normalize(question)
    matched = [rule for rule in rules() if rule.matches(text)]
    replaced = {rule_id for rule in matched for rule_id in rule.replaces}
    found = [rule.flag for rule in matched if rule.flag.id not in replaced]
    return tuple(sorted(found, key=lambda flag: LEVELS.index(flag.level)))
