"""What a question asks about the entity it names: the fact that answers it
(data/knowledge_intents.toml), in the way QASystemOnMedicalKG classifies questions by keywords."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from langzhong.data import load_toml
from langzhong.knowledge.graph import EntityKind, Mention
from langzhong.text import normalize


@dataclass(frozen=True)
class Intent:
    name: str
    kind: EntityKind
    fact: str
    patterns: tuple[re.Pattern[str], ...]


@functools.cache
def intents() -> tuple[Intent, ...]:
    return tuple(
        Intent(rule["name"], rule["kind"], rule["fact"], tuple(map(re.compile, rule["patterns"])))
        for rule in load_toml("knowledge_intents.toml")["intent"]
    )


def classify(question: str, kind: EntityKind, mentions: tuple[Mention, ...] = ()) -> Intent | None:
    """The first intent for an entity of ``kind`` whose pattern the question matches, the
    entities' own names left out (药物热 asks nothing about 药)."""
    text = normalize(question)
    for mention in mentions:
        text = text[: mention.start] + " " * (mention.end - mention.start) + text[mention.end :]
    for intent in intents():
        if intent.kind == kind and any(p.search(text) for p in intent.patterns):
            return intent
    return None
