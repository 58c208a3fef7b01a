"""The medical knowledge graph the package ships (data/cmekg.jsonl.gz, built from CMeKG by
scripts/build_knowledge.py) and the entity linker over its names.

An entity's facts stay as its JSON line until asked for: the graph holds 23k entities, and a
search needs one or two of them.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import ahocorasick

from langzhong.text import normalize

GRAPH_FILE = "cmekg.jsonl.gz"
SOURCE = "CMeKG 中文医学知识图谱（北京大学等，MIT 许可）"
EntityKind = Literal["disease", "drug"]
KIND_ORDER = {"disease": 0, "drug": 1}
# CMeKG files many illnesses of children under a name that says so (小儿癫痫) with the general
# names as aliases (羊角风). Reached through a general name, such an entity is linked only in a
# question about a child: an adult asking about 羊角风 must not get a paediatric card and 儿科.
CHILD_MARKERS = ("小儿", "儿童", "婴儿", "婴幼儿", "新生儿", "患儿")


@dataclass(frozen=True)
class Entity:
    name: str
    kind: EntityKind
    names: tuple[str, ...]  # the names a question may use: its own, 别称, English, drug names
    facts: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Mention:
    """Where a question names an entity: ``text[start:end]`` is ``form``."""

    entity: str
    form: str
    start: int
    end: int


class KnowledgeGraph:
    def __init__(self, lines: Iterable[str]) -> None:
        self._lines: dict[str, str] = {}
        self._kinds: Counter[str] = Counter()
        claims: dict[str, tuple[tuple[bool, int, int], str]] = {}
        for line in lines:
            record = json.loads(line)
            name = record["name"]
            self._lines[name] = line
            self._kinds[record["kind"]] += 1
            names = record["names"]
            own = record["keys"][names.index(name)] if name in names else normalize(name)
            for key in record["keys"]:  # the names, normalised by scripts/build_knowledge.py
                # A name two entities share goes to the entity so named, else to a disease, else
                # to the entity with the longer record (more facts).
                rank = (key != own, KIND_ORDER[record["kind"]], -len(line))
                if key not in claims or rank < claims[key][0]:
                    claims[key] = (rank, name)
        self._automaton = ahocorasick.Automaton()
        for key, (_, name) in claims.items():
            for_children = _says_child(name) and not _says_child(key)
            self._automaton.add_word(key, (name, len(key), for_children))
        if claims:
            self._automaton.make_automaton()

    @classmethod
    def load(cls, path: Path) -> KnowledgeGraph:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            return cls(line for line in lines if line.strip())

    def names(self) -> Iterable[str]:
        return self._lines.keys()

    def entity(self, name: str) -> Entity | None:
        line = self._lines.get(name)
        return _parse(line) if line is not None else None

    def named(self, form: str, child: bool = False) -> str | None:
        """The entity a name stands for, if it is one of the graph's names (``child``: in a
        question about a child, see ``CHILD_MARKERS``)."""
        found = self._automaton.get(normalize(form), None) if self._lines else None
        return found[0] if found and (child or not found[2]) else None

    def link(self, text: str, child: bool = False) -> list[Mention]:
        """The entities ``text`` names, left to right; where names overlap the longest wins.
        ``child``: the text is about a child, so the general names of children's illnesses
        count too."""
        if not self._lines:
            return []
        folded = normalize(text)
        found = [
            (end + 1 - size, end + 1, name)
            for end, (name, size, for_children) in self._automaton.iter(folded)
            if child or not for_children
        ]
        mentions: list[Mention] = []
        for start, end, name in sorted(found, key=lambda m: (-(m[1] - m[0]), m[0])):
            if all(end <= m.start or start >= m.end for m in mentions):
                mentions.append(Mention(name, text[start:end], start, end))
        return sorted(mentions, key=lambda m: m.start)

    def stats(self) -> dict[str, int]:
        return {"entities": len(self._lines), **{k: self._kinds[k] for k in KIND_ORDER}}


def _says_child(name: str) -> bool:
    return any(marker in name for marker in CHILD_MARKERS)


@functools.lru_cache(maxsize=4096)
def _parse(line: str) -> Entity:
    record = json.loads(line)
    facts = {fact: tuple(items) for fact, items in record["facts"].items()}
    return Entity(record["name"], record["kind"], tuple(record["names"]), facts)


@functools.cache
def shipped_graph() -> KnowledgeGraph | None:
    """The package's graph (None in a package built without it)."""
    path = resources.files("langzhong.data").joinpath(GRAPH_FILE)
    if not path.is_file():
        return None
    with resources.as_file(path) as file:
        return KnowledgeGraph.load(file)
