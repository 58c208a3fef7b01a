"""Knowledge cards: the entities a question names, their key facts in patient order, and the
fact the question asks for first (the direct answer)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from langzhong.core import KnowledgeCard
from langzhong.knowledge.graph import SOURCE, Entity, KnowledgeGraph, Mention, shipped_graph
from langzhong.knowledge.intents import classify

MAX_CARDS = 2
CARD_ITEMS = 5  # items of a fact the card shows; the entity page shows them all
PATIENT_ORDER = {
    "disease": (
        "就诊科室",
        "常见症状",
        "检查",
        "治疗",
        "常见病因",
        "并发症",
        "多发群体",
        "常见发病部位",
        "传染性",
    ),
    "drug": ("适应症", "不良反应", "禁忌", "用法用量", "注意事项"),
}


def entity_url(name: str) -> str:
    return "/entity/" + quote(name, safe="")


def mentioned(question: str, graph: KnowledgeGraph | None = None) -> list[Entity]:
    """The distinct entities the question (or an article's head) names, in its order."""
    graph = graph or shipped_graph()
    return _entities(graph, graph.link(question)) if graph else []


def _entities(graph: KnowledgeGraph, mentions: Sequence[Mention]) -> list[Entity]:
    names = dict.fromkeys(m.entity for m in mentions)
    return [e for name in names if (e := graph.entity(name)) is not None]


def card(entity: Entity, answer: str | None = None) -> KnowledgeCard:
    order = PATIENT_ORDER[entity.kind]
    if answer in order:
        order = (answer, *(fact for fact in order if fact != answer))
    shown = [fact for fact in order if entity.facts.get(fact)]
    return KnowledgeCard(
        entity=entity.name,
        kind=entity.kind,
        answer=answer if answer in shown else None,
        missing=answer if answer and answer not in shown else None,
        facts={fact: entity.facts[fact][:CARD_ITEMS] for fact in shown},
        more=tuple(fact for fact in shown if len(entity.facts[fact]) > CARD_ITEMS),
        url=entity_url(entity.name),
        source=SOURCE,
    )


def knowledge_cards(
    question: str, graph: KnowledgeGraph | None = None, child: bool = False
) -> tuple[KnowledgeCard, ...]:
    """Cards for the entities the question names (at most two), each with its direct answer
    (``child``: the question is about a child, so children's illnesses count by any name)."""
    graph = graph or shipped_graph()
    if graph is None:
        return ()
    mentions = tuple(graph.link(question, child))
    cards = []
    for entity in _entities(graph, mentions)[:MAX_CARDS]:
        intent = classify(question, entity.kind, mentions)
        cards.append(card(entity, intent.fact if intent else None))
    return tuple(cards)


def other_names(question: str, graph: KnowledgeGraph | None = None) -> list[str]:
    """The other Chinese names of the entities the question names (甲亢 → 甲状腺功能亢进症),
    for the search to look for too."""
    graph = graph or shipped_graph()
    if graph is None:
        return []
    names = []
    for mention in graph.link(question):
        entity = graph.entity(mention.entity)
        if entity is not None:
            names += [n for n in entity.names if n != mention.form and not n.isascii()]
    return names
