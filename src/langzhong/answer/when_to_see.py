"""「什么时候需要就医」 for an article: the signs to act on for its topics, at three levels
(data/when_to_see_a_doctor.toml; emergency and urgent signs come from the red-flag rules)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from langzhong.answer.redflags import rules
from langzhong.core import Article
from langzhong.data import load_toml
from langzhong.text import normalize

LEVELS = ("emergency", "urgent", "self_care")  # 立即拨打 120 / 今天就医 / 可以先自我观察


@dataclass(frozen=True)
class Level:
    signs: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class _Topic:
    words: tuple[str, ...]
    also: tuple[str, ...]
    levels: dict[str, list[tuple[str, str]]]  # level: (sign, source)

    def covers(self, text: str) -> bool:
        return any(w in text for w in self.words) and (
            not self.also or any(w in text for w in self.also)
        )


@functools.cache
def _topics() -> tuple[_Topic, ...]:
    flags = {rule.flag.id: rule.flag for rule in rules()}

    def from_rules(ids: list[str]) -> list[tuple[str, str]]:
        return [(flags[i].sign, flags[i].source_zh) for i in ids]

    return tuple(
        _Topic(
            words=tuple(normalize(word) for word in raw["words"]),
            also=tuple(normalize(word) for word in raw.get("also", ())),
            levels={
                "emergency": from_rules(raw["emergency"]),
                "urgent": from_rules(raw["urgent"])
                + [(sign, raw["urgent_source"]) for sign in raw["urgent_more"]],
                "self_care": [(sign, raw["self_care_source"]) for sign in raw["self_care"]],
            },
        )
        for raw in load_toml("when_to_see_a_doctor.toml")["topic"]
    )


def when_to_see(article: Article) -> dict[str, Level]:
    """The signs of every topic the article's title or lead is about, by level; empty for
    other topics (no box rather than signs that do not fit)."""
    text = normalize(f"{article.title}\n{article.lead}")
    topics = [topic for topic in _topics() if topic.covers(text)]
    if not topics:
        return {}
    found = {}
    for level in LEVELS:
        pairs = [pair for topic in topics for pair in topic.levels[level]]
        found[level] = Level(
            signs=tuple(dict.fromkeys(sign for sign, _ in pairs)),
            sources=tuple(dict.fromkeys(source for _, source in pairs)),
        )
    return found
