"""「什么时候需要就医」: for a question or an article on one of the most-asked topics (孩子发烧,
怀孕, 胸痛…), the signs to act on at three levels, every line with its public source
(data/when_to_see_a_doctor.toml)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from langzhong.core import Article, GuideSign, GuideTopic
from langzhong.data import load_toml
from langzhong.question import Question
from langzhong.text import normalize

LEVELS = ("emergency", "urgent", "self_care")  # 立即拨打 120 / 今天就医 / 可以先自我观察
MAX_TOPICS = 2  # a page shows the boxes of its first two topics at most


@dataclass(frozen=True)
class _Topic:
    guide: GuideTopic
    words: tuple[str, ...]
    also: tuple[str, ...]
    unless: tuple[str, ...]
    patient: str | None  # the topic is about this kind of patient only (question.py's kinds)

    def covers(self, text: str, patient: frozenset[str] | None = None) -> bool:
        if self.patient is not None and patient is not None and self.patient not in patient:
            return False
        return (
            any(w in text for w in self.words)
            and (not self.also or any(w in text for w in self.also))
            and not any(w in text for w in self.unless)
        )


@functools.cache
def topics() -> tuple[_Topic, ...]:
    found = []
    for raw in load_toml("when_to_see_a_doctor.toml")["topic"]:
        signs: dict[str, list[GuideSign]] = {level: [] for level in LEVELS}
        for sign in raw["sign"]:
            signs[sign["level"]].append(
                GuideSign(text=sign["text"], source=sign["source"], url=sign.get("url", ""))
            )
        guide = GuideTopic(
            id=raw["id"], name=raw["name"], **{k: tuple(v) for k, v in signs.items()}
        )
        found.append(
            _Topic(
                guide,
                words=tuple(normalize(w) for w in raw["words"]),
                also=tuple(normalize(w) for w in raw.get("also", ())),
                unless=tuple(normalize(w) for w in raw.get("not", ())),
                patient=raw.get("patient"),
            )
        )
    return tuple(found)


def guides_for(question: Question) -> tuple[GuideTopic, ...]:
    """The guides of the topics the question is about (its first two)."""
    covered = [t.guide for t in topics() if t.covers(question.normalized, question.patient)]
    return tuple(covered[:MAX_TOPICS])


def article_guides(article: Article) -> tuple[GuideTopic, ...]:
    """The guides of the topics an article's title or lead is about; none for other topics
    (no box rather than signs that do not fit)."""
    text = normalize(f"{article.title}\n{article.lead}")
    return tuple([t.guide for t in topics() if t.covers(text)][:MAX_TOPICS])
