"""Knowledge cards judged by hand: a reproducible sample of the cards patients' questions get
(the titles of the bundled medical-dialogue-im rows), every item a card shows, each judged
right or wrong.

A line of a sample file (tests/data/cards-sample.jsonl, written by scripts/sample_cards.py)::

    {"title": question, "entity": name, "kind": "disease",
     "facts": {fact: [{"item": text, "right": true}, {"item": text, "right": false,
                                                       "why": "a cause, not a symptom"}]}}

``right`` is null until someone judges the item.
"""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

from langzhong.core import KnowledgeCard
from langzhong.knowledge.cards import knowledge_cards
from langzhong.knowledge.graph import KnowledgeGraph

SAMPLE_SIZE = 50
Verdict = tuple[bool | None, str | None]  # right, and why not
ItemKey = tuple[str, str, str]  # entity, fact, item


def demo_titles() -> list[str]:
    """The distinct questions of the bundled dataset, in a fixed order."""
    data = resources.files("langzhong.demo").joinpath("medical-dialogue-im.jsonl.gz")
    with gzip.open(data.open("rb"), "rt", encoding="utf-8") as lines:
        return sorted({json.loads(line)["title"].strip() for line in lines if line.strip()})


def draw(
    titles: Iterable[str], graph: KnowledgeGraph, seed: int, size: int = SAMPLE_SIZE
) -> list[tuple[str, KnowledgeCard]]:
    """``size`` cards of distinct entities, as the questions in a seeded random order give them
    (a popular entity comes early, but once)."""
    order = list(titles)
    random.Random(seed).shuffle(order)
    drawn: dict[str, tuple[str, KnowledgeCard]] = {}
    for title in order:
        for card in knowledge_cards(title, graph):
            drawn.setdefault(card.entity, (title, card))
            if len(drawn) == size:
                return list(drawn.values())
    return list(drawn.values())


def sample_line(title: str, card: KnowledgeCard, judged: Mapping[ItemKey, Verdict]) -> dict:
    """A card as a line of the sample file, with the judgements already made of its items."""
    facts: dict[str, list[dict]] = {}
    for fact, items in card.facts.items():
        facts[fact] = []
        for item in items:
            right, why = judged.get((card.entity, fact, item), (None, None))
            facts[fact].append({"item": item, "right": right} | ({"why": why} if why else {}))
    return {"title": title, "entity": card.entity, "kind": card.kind, "facts": facts}


def load_sample(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def judgements(lines: Iterable[dict]) -> dict[ItemKey, Verdict]:
    """Every judged item of the lines, by entity, fact and item."""
    return {
        (line["entity"], fact, judged["item"]): (judged["right"], judged.get("why"))
        for line in lines
        for fact, items in line["facts"].items()
        for judged in items
        if judged["right"] is not None
    }


def shown_items(card: KnowledgeCard) -> dict[str, list[str]]:
    return {fact: list(items) for fact, items in card.facts.items()}


def share_right(lines: Iterable[dict]) -> dict:
    """How many of the items shown were judged right, overall and per fact."""
    tally: dict[str, Counter[str]] = {}
    cards = 0
    for line in lines:
        cards += 1
        for fact, items in line["facts"].items():
            for judged in items:
                verdict = {True: "right", False: "wrong", None: "unjudged"}[judged["right"]]
                for key in ("all", fact):
                    tally.setdefault(key, Counter()).update(("items", verdict))
    return {
        "cards": cards,
        **{
            key: {
                "items": t["items"],
                "right": t["right"],
                "unjudged": t["unjudged"],
                "share_right": round(t["right"] / max(1, t["right"] + t["wrong"]), 4),
            }
            for key, t in tally.items()
        },
    }
