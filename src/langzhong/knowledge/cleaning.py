"""The items of the knowledge graph's facts made fit for a card (rules and word lists in
data/knowledge_cleaning.toml): one spelling an item, each item of the kind its fact holds,
no category or filler words, no folk causes.

scripts/build_knowledge.py runs it on every entity when it builds data/cmekg.jsonl.gz; nothing
runs it at search time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langzhong.data import load_toml
from langzhong.text import normalize

# Facts whose items are the entity's own kind of thing, where an item that is the entity
# itself (慢性乙型肝炎 listing 肝炎) or one of its forms (丙型病毒性肝炎 listing 急性丙型病毒性肝炎)
# says nothing.
RELATED_FACTS = ("常见症状", "检查", "治疗", "常见病因", "并发症")
# Facts where a single character is a fragment of the sentence it was cut from (「热」, 「中」).
WORDS_FACTS = (*RELATED_FACTS, "多发群体")
# A drug's facts that list words, where a lab value's name alone (ALT) is a fragment too.
DRUG_WORDS_FACTS = ("适应症", "不良反应")


@functools.cache
def rules() -> dict[str, Any]:
    return load_toml("knowledge_cleaning.toml")


@functools.cache
def _fold() -> dict[int, str | None]:
    spelling = rules()["spelling"]
    table: dict[int, str | None] = {ord(c): None for c in spelling["separators"]}
    table.update({ord(letter): greek for letter, greek in spelling["greek"].items()})
    return table


def spelling_key(item: str) -> str:
    """The item with width, case, script, spaces, dashes, punctuation and look-alike Greek
    letters set aside: two items with one key are one item spelt two ways."""
    return normalize(item).translate(_fold())


def distinct(items: Iterable[str]) -> list[str]:
    """The items, each once, where its first spelling stood, in its plainest spelling (the one
    with fewest characters that the key leaves out)."""
    chosen: dict[str, str] = {}
    for item in items:
        key = spelling_key(item)
        if key and (key not in chosen or len(item) < len(chosen[key])):
            chosen[key] = item
    return list(chosen.values())


@functools.cache
def _affixes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    wording = rules()["wording"]
    return (
        tuple(sorted(wording["openers"], key=len, reverse=True)),
        tuple(sorted(wording["closers"], key=len, reverse=True)),
    )


def tidy(item: str) -> str:
    """The item without the words that open or close it and add nothing (「大多为幽门螺杆菌
    感染」 → 幽门螺杆菌感染); a word stays where taking it off would leave under two characters."""
    openers, closers = _affixes()
    changed = True
    while changed:
        changed = False
        for opener in openers:
            if item.startswith(opener) and len(item) - len(opener) >= 2:
                item, changed = item[len(opener) :].strip(), True
                break
        for closer in closers:
            if item.endswith(closer) and len(item) - len(closer) >= 2:
                item, changed = item[: -len(closer)].strip(), True
                break
    return item


@functools.cache
def _category() -> tuple[frozenset[str], re.Pattern[str]]:
    category = rules()["category"]
    return (
        frozenset(spelling_key(w) for w in category["words"]),
        re.compile("|".join(f"(?:{p})" for p in category["patterns"])),
    )


def is_category(item: str) -> bool:
    """Whether the item names a kind of fact or fills a list (治疗原则, 对症治疗, 其他)."""
    words, pattern = _category()
    return spelling_key(item) in words or bool(pattern.search(normalize(item)))


@functools.cache
def _endings() -> tuple[tuple[str, ...], tuple[str, ...]]:
    kinds = rules()["kinds"]
    return (
        tuple(normalize(e) for e in kinds["disease_endings"]),
        tuple(normalize(e) for e in kinds["sign_endings"]),
    )


def _ending(key: str) -> tuple[int, int]:
    """The length of the longest disease's ending and of the longest sign's ending the key
    has (0: none)."""
    disease_endings, sign_endings = _endings()
    return (
        max((len(e) for e in disease_endings if key.endswith(e)), default=0),
        max((len(e) for e in sign_endings if key.endswith(e)), default=0),
    )


def is_sign_code(icd10: Sequence[str]) -> bool:
    """Whether the graph codes an entity in ICD-10's chapter of symptoms and signs."""
    return any(code.startswith(rules()["kinds"]["sign_icd_chapter"]) for code in icd10)


@dataclass(frozen=True)
class Vocabulary:
    """What the whole graph says of a word, for checking one entity's items (by spelling key)."""

    diseases: frozenset[str]  # names of the graph's disease entities, signs (水肿, 腹泻) left out
    drugs: frozenset[str]  # names of its drug entities
    # the fact the graph lists a word under most (常见症状, 常见病因, 常见发病部位…), where one does
    listed: Mapping[str, str] = field(default_factory=dict)
    attested: frozenset[str] = frozenset()  # signs the graph lists for several entities
    generic: frozenset[str] = frozenset()  # signs hundreds of diseases list (不适, 疼痛)
    parts: frozenset[str] = frozenset()  # parts of the body (口腔黏膜)
    # what the drugs a treatment names are indicated for (their 适应症 and 功能主治)
    drug_uses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def is_disease(self, item: str) -> bool:
        """A disease rather than a sign: a disease entity's name, or a name ending as a
        disease's does (心梗, 慢性肝炎), and not ending as a sign's does (腹泻, 瘙痒症)."""
        key = spelling_key(item)
        disease, sign = _ending(key)
        if sign > disease:
            return False
        return bool(disease) or key in self.diseases

    def is_drug(self, item: str) -> bool:
        return spelling_key(item) in self.drugs

    def treats(self, item: str, names: Sequence[str]) -> bool:
        """Whether a treatment may treat the illness so named: true unless it names drugs of
        the graph none of which is indicated for it (利妥昔单抗 for 糖尿病)."""
        uses = self.drug_uses.get(spelling_key(item))
        return uses is None or any(
            name in use or (len(use) >= 2 and use in name) for use in uses for name in names
        )

    def listed_elsewhere(self, fact: str, item: str) -> bool:
        """Whether the graph lists the item mostly as the kind of thing another fact holds,
        one that ``fact``'s items cannot be (a body part among the symptoms, a cause among
        the tests)."""
        return self.listed.get(spelling_key(item)) in rules()["kinds"]["not"].get(fact, ())

    def is_part(self, item: str) -> bool:
        """A part of the body (口腔黏膜), not a sign (淋巴结肿大 ends as a sign does)."""
        key = spelling_key(item)
        return key in self.parts and not _ending(key)[1]

    def sign_rank(self, item: str) -> int:
        """Where a sign goes in a list: attested by several entities first, then named only
        here, then shared by hundreds of diseases (they tell a patient least)."""
        key = spelling_key(item)
        return 2 if key in self.generic else 0 if key in self.attested else 1


def clean_disease(
    names: Sequence[str], facts: dict[str, list[str]], vocabulary: Vocabulary
) -> dict[str, list[str]]:
    """A disease's facts with every item checked for the kind its fact holds: no disease,
    drug or part of the body among the symptoms, no disease among the tests, no drug among the
    treatments that is indicated for other illnesses, no folk cause. ``names``: its names."""
    # 癫痫病 is 癫痫 too: 癫痫发作 is one of its forms
    own = [k for n in names for k in {spelling_key(n), spelling_key(n).removesuffix("病")}]
    cleaned: dict[str, list[str]] = {fact: [] for fact in (*RELATED_FACTS, "传染性")}
    for fact, items in facts.items():
        items = _words(fact, items)
        if fact in RELATED_FACTS:
            items = [i for i in items if not _is_itself(i, own, vocabulary)]
        cleaned[fact] = [i for i in items if not vocabulary.listed_elsewhere(fact, i)]
    # A disease among the symptoms (心梗 of 高血压) is dropped. Moved to the complications,
    # such items were wrong more often than right (胃病's kinds of gastritis).
    cleaned["常见症状"] = sorted(
        (
            i
            for i in cleaned["常见症状"]
            if is_sign(i)
            and not vocabulary.is_disease(i)
            and not vocabulary.is_drug(i)
            and not vocabulary.is_part(i)
        ),
        key=vocabulary.sign_rank,
    )
    # A sign hundreds of diseases list (呕吐, 水肿, 感染) is no complication by itself.
    cleaned["并发症"] = [i for i in cleaned["并发症"] if spelling_key(i) not in vocabulary.generic]
    cleaned["检查"] = [i for i in cleaned["检查"] if not vocabulary.is_disease(i)]
    cleaned["治疗"] = [
        i
        for i in cleaned["治疗"]
        if (vocabulary.is_drug(i) or not vocabulary.is_disease(i)) and vocabulary.treats(i, own)
    ]
    cleaned["常见病因"] = [i for i in cleaned["常见病因"] if not is_folk_cause(i)]
    cleaned["传染性"] = infectious(cleaned["传染性"])
    return {fact: items for fact, items in cleaned.items() if items}


def clean_drug(facts: dict[str, list[str]]) -> dict[str, list[str]]:
    """A drug's facts without category and filler words and lab values' names, each item once."""
    lab_value = re.compile(rules()["category"]["lab_value"])
    cleaned = {}
    for fact, items in facts.items():
        if fact in DRUG_WORDS_FACTS:
            items = [i for i in _words(fact, items) if not lab_value.search(spelling_key(i))]
        cleaned[fact] = distinct(items)
    return {fact: items for fact, items in cleaned.items() if items}


def is_sign(item: str) -> bool:
    """Whether a symptom list's item may be a sign: not a risk factor (吸烟), nor a word that
    names a faculty, a measure or a look by itself (视力, 数量, 灰色)."""
    symptoms = rules()["symptoms"]
    return not (
        re.search(symptoms["not_symptom"], item)
        or spelling_key(item) in symptoms["not_signs"]
        or re.search(symptoms["not_sign_pattern"], item)
    )


def infectious(items: Sequence[str]) -> list[str]:
    """有 or 无 in one spelling; other items only where they speak of infection."""
    rule = rules()["infectious"]
    said = [
        "有" if item in rule["yes"] else "无" if item in rule["no"] else item
        for item in items
        if item in rule["yes"] or item in rule["no"] or re.search(rule["about"], item)
    ]
    return distinct(said)


def is_folk_cause(item: str) -> bool:
    causes = rules()["causes"]
    key = spelling_key(item)
    return any(word in key for word in causes["folk"]) or key in causes["folk_words"]


def _words(fact: str, items: list[str]) -> list[str]:
    """The items of one fact tidied, each once, without categories and fragments."""
    if fact not in (*WORDS_FACTS, *DRUG_WORDS_FACTS):
        return distinct(items)
    tidied = map(tidy, items)
    return distinct(i for i in tidied if len(spelling_key(i)) >= 2 and not is_category(i))


def _is_itself(item: str, names: Sequence[str], vocabulary: Vocabulary) -> bool:
    """The item is the entity, a form of it (急性丙型病毒性肝炎 of 丙型病毒性肝炎) or the illness
    it is a form of (肝炎 of 慢性乙型肝炎)."""
    key = spelling_key(item)
    illness = vocabulary.is_disease(item) or _ending(key)[1] > 0  # 急性腹痛 of 腹痛
    return key in names or (
        illness and any(len(name) >= 2 and (name in key or name.endswith(key)) for name in names)
    )
