"""How well questions about the knowledge graph's own entities get the right card and the right
fact first: colloquial templates (data/knowledge_templates.toml) filled with entity names."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass

from langzhong.data import load_toml
from langzhong.knowledge.cards import knowledge_cards
from langzhong.knowledge.graph import Entity, KnowledgeGraph
from langzhong.knowledge.intents import classify, intents

ENTITIES_PER_TEMPLATE = 25
SEED = 13
SHOWN_FAILURES = 15


@dataclass(frozen=True)
class Question:
    text: str
    entity: str
    intent: str
    fact: str
    split: str  # "tune" (the rules were written on these templates) or "score"


def questions(graph: KnowledgeGraph, per_template: int = ENTITIES_PER_TEMPLATE) -> list[Question]:
    """Each template filled with entities that have the fact it asks for, each entity named by
    one of its names (its own or an alias) that the graph resolves to it."""
    rng = random.Random(SEED)
    templates = load_toml("knowledge_templates.toml")
    holders: dict[str, list[Entity]] = defaultdict(list)
    for name in sorted(graph.names()):
        entity = graph.entity(name)
        assert entity is not None
        for fact in entity.facts:
            holders[fact].append(entity)
    made = []
    for intent in intents():
        pool = [e for e in holders[intent.fact] if e.kind == intent.kind]
        for split in ("tune", "score"):
            for template in templates[intent.name][split]:
                for entity in rng.sample(pool, min(per_template, len(pool))):
                    forms = [f for f in entity.names if graph.named(f) == entity.name]
                    if forms:
                        text = template.format(x=rng.choice(forms))
                        made.append(Question(text, entity.name, intent.name, intent.fact, split))
    return made


def knowledge_accuracy(graph: KnowledgeGraph) -> dict:
    """Intent accuracy (the entity's kind given) and answer accuracy (the first card is the
    entity and puts the asked fact first), on the tuning and the scored templates."""
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    failures: list[dict] = []
    for q in questions(graph):
        entity = graph.entity(q.entity)
        assert entity is not None
        mentions = tuple(graph.link(q.text))
        intent = classify(q.text, entity.kind, mentions)
        cards = knowledge_cards(q.text, graph)
        answered = bool(cards) and cards[0].entity == q.entity and cards[0].answer == q.fact
        for key in (q.split, f"{q.split}:{q.intent}"):
            tally[key].update(
                questions=1, intent=intent is not None and intent.name == q.intent, answer=answered
            )
        if q.split == "score" and not answered and len(failures) < SHOWN_FAILURES:
            failures.append(
                {
                    "question": q.text,
                    "expected": f"{q.entity}: {q.fact}",
                    "got": f"{cards[0].entity}: {cards[0].answer}" if cards else "no card",
                }
            )
    figures = {
        key: {
            "questions": t["questions"],
            "intent_accuracy": round(t["intent"] / t["questions"], 4),
            "answer_accuracy": round(t["answer"] / t["questions"], 4),
        }
        for key, t in sorted(tally.items())
    }
    return {"graph": graph.stats(), "splits": figures, "score_failures": failures}
