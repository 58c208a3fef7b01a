"""Which department to see (keywords per department in data/departments.toml)."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence

from langzhong.answer.rules import load_toml
from langzhong.core import Hit, RedFlag
from langzhong.text import normalize

EMERGENCY_DEPARTMENT = "急诊科"
HIT_VOTES = 5  # how many of the best hits vote when the question names no department's words


@functools.cache
def _keywords() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (d["name"], tuple(normalize(k) for k in d["keywords"]))
        for d in load_toml("departments.toml")["department"]
    )


def department_for_text(text: str) -> str | None:
    """The department whose keywords the text names most, or None."""
    folded = normalize(text)
    counts = Counter({name: sum(folded.count(k) for k in words) for name, words in _keywords()})
    best = counts.most_common(1)
    return best[0][0] if best and best[0][1] > 0 else None


def suggest_department(
    question: str, hits: Sequence[Hit] = (), flags: Sequence[RedFlag] = ()
) -> str | None:
    """Emergency signs first, then the question's own words, then its best hits' departments."""
    if any(flag.level == "emergency" for flag in flags):
        return EMERGENCY_DEPARTMENT
    named = department_for_text(question)
    if named:
        return named
    votes: Counter[str] = Counter()
    for rank, hit in enumerate(hits[:HIT_VOTES], start=1):
        department = hit.department or department_for_text(hit.title)
        if department:
            votes[department] += 1 / rank
    best = votes.most_common(1)
    return best[0][0] if best else None
