"""Which department to see, decided from the question itself.

In this order: an emergency or crisis (急诊科); the department an urgent sign names (an animal
bite: the rabies clinic); who the patient is and what happened
(data/department_rules.toml: a child, pregnancy, after an operation); the knowledge graph's
就诊科室 for the illness the question names (its first knowledge card); the part of the body
(teeth, eyes, ENT, skin); the illness words the question names (data/departments.toml); the
department classifier learned from the dataset's labels (answer/department_model.py), when it is
sure enough; and only then, as a weak tie-breaker, the departments of the best hits.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence

from langzhong.answer.department_model import DepartmentModel
from langzhong.core import Hit, KnowledgeCard, RedFlag
from langzhong.data import load_shipped, load_toml
from langzhong.text import normalize

EMERGENCY_DEPARTMENT = "急诊科"
CHILD_DEPARTMENT = "儿科"
CHILD_AGE = 14  # under this age a patient is seen in paediatrics
HIT_VOTES = 5  # how many of the best hits vote when nothing else decides
MODEL_FILE = "department.npz"  # built by `langzhong train`
# The graph's 内科 or 外科 alone is vaguer than the question's own words or the classifier.
BROAD_DEPARTMENTS = ("内科", "外科")
MIN_POSTERIOR = 0.6  # below it the classifier's guess is not shown
_DIGITS = {d: i for i, d in enumerate("零一二三四五六七八九")} | {"两": 2}
_AGE = re.compile(r"([0-9]{1,3}|[一二两三四五六七八九十]{1,3})(?:周岁|岁)")
_MONTHS_OLD = re.compile(r"([0-9]{1,2}|[一二两三四五六七八九十]{1,3})个(?:多)?月(?:大|的)")


@functools.cache
def _keywords() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (d["name"], tuple(normalize(k) for k in d["keywords"]))
        for d in load_toml("departments.toml")["department"]
    )


@functools.cache
def _rules(decides: str) -> tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]:
    return tuple(
        (rule["department"], tuple(re.compile(p) for p in rule["patterns"]))
        for rule in load_toml("department_rules.toml")["rule"]
        if rule["decides"] == decides
    )


@functools.cache
def aliases() -> dict[str, str]:
    """The dataset's department labels as the site names them."""
    return load_toml("department_rules.toml").get("aliases", {})


@functools.cache
def shipped_model() -> DepartmentModel | None:
    return load_shipped(MODEL_FILE, DepartmentModel.load)


def _number(text: str) -> int:
    """An age written in digits or in Chinese numerals up to 99 (三, 十二, 二十)."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return _DIGITS.get(text[-1], 0)
    tens, _, ones = text.partition("十")
    return _DIGITS.get(tens, 1) * 10 + _DIGITS.get(ones, 0)


def department_for_text(text: str) -> str | None:
    """The department whose keywords the text names most, or None."""
    folded = normalize(text)
    counts = Counter({name: sum(folded.count(k) for k in words) for name, words in _keywords()})
    best = counts.most_common(1)
    return best[0][0] if best and best[0][1] > 0 else None


def department_from_rules(question: str, decides: str = "patient") -> str | None:
    """The first rule that matches, or None: of who the patient is and what happened
    (``decides="patient"``), or of the part of the body (``"body"``)."""
    text = normalize(question)
    ages = [_number(match) for match in _AGE.findall(text)]
    adult = bool(ages) and min(ages) >= CHILD_AGE
    # 「怀孕5个月的」 counts a pregnancy's months, not a baby's
    young = any(age < CHILD_AGE for age in ages) or (_MONTHS_OLD.search(text) and "孕" not in text)
    if decides == "patient" and not adult and young:
        return CHILD_DEPARTMENT
    for department, patterns in _rules(decides):
        if department == CHILD_DEPARTMENT and adult:
            continue  # 「我儿子30岁」 is an adult
        if any(pattern.search(text) for pattern in patterns):
            return department
    return None


def about_a_child(question: str) -> bool:
    """Whether the question is about a child (the first rule of who the patient is)."""
    return department_from_rules(question, "patient") == CHILD_DEPARTMENT


def department_from_knowledge(cards: Sequence[KnowledgeCard]) -> str | None:
    """The graph's 就诊科室 for the first illness the question names (two at most)."""
    for card in cards:
        departments = [d for d in card.facts.get("就诊科室", ()) if d not in BROAD_DEPARTMENTS]
        if card.kind == "disease" and departments:
            return "/".join(aliases().get(d, d) for d in departments[:2])
    return None


def department_from_classifier(
    terms: Sequence[str], model: DepartmentModel | None = None
) -> str | None:
    model = model or shipped_model()
    if model is None:
        return None
    label, probability = model.predict(terms)
    if label is None or probability < MIN_POSTERIOR:
        return None
    return aliases().get(label, label)


def suggest_department(
    question: str,
    hits: Sequence[Hit] = (),
    flags: Sequence[RedFlag] = (),
    terms: Sequence[str] = (),
    classifier: DepartmentModel | None = None,
    knowledge: Sequence[KnowledgeCard] = (),
) -> str | None:
    """The department for the question (``terms``: its search terms, for ``classifier``, by
    default the shipped one; ``knowledge``: the cards of the entities it names)."""
    if any(flag.level in ("crisis", "emergency") for flag in flags):
        return EMERGENCY_DEPARTMENT
    if sent := next((flag.department for flag in flags if flag.department), None):
        return sent
    decided = (
        department_from_rules(question, "patient")
        or department_from_knowledge(knowledge)
        or department_from_rules(question, "body")
        or department_for_text(question)
        or department_from_classifier(terms, classifier)
    )
    if decided:
        return decided
    votes: Counter[str] = Counter()
    for rank, hit in enumerate(hits[:HIT_VOTES], start=1):
        department = hit.department or department_for_text(hit.title)
        if department:
            votes[aliases().get(department, department)] += 1 / rank
    best = votes.most_common(1)
    return best[0][0] if best else None
