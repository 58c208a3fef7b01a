"""Which department to see — or none, since a wrong door costs the patient a wasted visit.

In this order: an emergency or crisis (急诊科) unless its sign names another door (thoughts of
suicide without a plan: 精神心理科, while the notice gives the help lines and 120 for immediate
danger); the department a sign names (an animal bite: the rabies clinic); who the patient is
(a pregnancy: 产科; a child: 儿科, or the specialty that sees children the words point to); the
words of the question, as a hospital's triage desk reads them (data/departments.toml); the
knowledge graph's 就诊科室 for the illness the question names; otherwise none. The department
classifier learned from the demo dataset's labels decides no door: trained on internal medicine
alone, it was sure (posterior ≥ 0.9) of a wrong one for 11 of the 13 everyday tune questions it
was left to decide (AMH 偏低 → 肝病科, 过期药 → 消化内科; docs/safety.md). Ranking still reads it
(``DepartmentModel.lift``).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from langzhong.core import KnowledgeCard, RedFlag
from langzhong.data import load_shipped, load_toml
from langzhong.question import Question
from langzhong.text import normalize
from langzhong.triage.department_model import DepartmentModel

EMERGENCY_DEPARTMENT = "急诊科"
CHILD_DEPARTMENT = "儿科"
# who the patient is, first; a pregnancy before a child (孕妇…会传给宝宝吗: the baby is unborn)
BY_PATIENT = (("pregnancy", "产科"), ("child", CHILD_DEPARTMENT))
MODEL_FILE = "department.npz"  # built by `langzhong train`
LATE_BONUS = 0.5  # a word at the question's end counts this much more than one at its start
MIN_LEAD = 1.25  # the best department's score must be this many times the runner-up's


@dataclass(frozen=True)
class _Word:
    department: str
    weight: float


@functools.cache
def _automaton() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    weights: dict[str, float] = {}  # each department's first entry's: the others' default
    for department in load_toml("departments.toml")["department"]:
        name = department["name"]
        weight = department.get("weight", weights.setdefault(name, department.get("weight", 1.0)))
        for word in department["words"]:
            key = normalize(word)
            if key in automaton:
                raise ValueError(f"departments.toml: {word!r} is listed twice")
            automaton.add_word(key, (key, _Word(name, weight)))
    automaton.make_automaton()
    return automaton


@functools.cache
def aliases() -> dict[str, str]:
    """Other names of departments (the dataset's, the knowledge graph's) as the site names them;
    "" for a name too broad to send anyone to."""
    return load_toml("departments.toml").get("aliases", {})


def site_name(department: str) -> str:
    return aliases().get(department, department)


@functools.cache
def shipped_model() -> DepartmentModel | None:
    return load_shipped(MODEL_FILE, DepartmentModel.load)


def department_scores(normalized: str) -> dict[str, float]:
    """Each department's score from the words of a normalised text: every word found, but one
    inside a longer word found, weighted by its department and by how late it comes."""
    found = [
        (end - len(key) + 1, end + 1, word) for end, (key, word) in _automaton().iter(normalized)
    ]
    scores: dict[str, float] = defaultdict(float)
    length = max(len(normalized), 1)
    for start, end, word in found:
        inside_longer = any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in found)
        if not inside_longer:
            scores[word.department] += word.weight * (1 + LATE_BONUS * end / length)
    return dict(scores)


def department_for_text(text: str) -> str | None:
    """The department the words of a text clearly point to, or None."""
    return _clear_winner(department_scores(normalize(text)))


def _clear_winner(scores: dict[str, float]) -> str | None:
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if not ranked:
        return None
    if len(ranked) > 1 and ranked[0][1] < MIN_LEAD * ranked[1][1]:
        return None
    return ranked[0][0]


@functools.cache
def _sees_children() -> frozenset[str]:
    return frozenset(load_toml("departments.toml").get("sees_children", ()))


def _for_children(department: str | None) -> str:
    """A child's department: the specialty the words point to where it sees children, else 儿科."""
    return department if department in _sees_children() else CHILD_DEPARTMENT


def department_from_knowledge(cards: Sequence[KnowledgeCard]) -> str | None:
    """The graph's 就诊科室 for the first illness the question names (two at most)."""
    for card in cards:
        departments = [site_name(d) for d in card.facts.get("就诊科室", ())]
        departments = list(dict.fromkeys(d for d in departments if d))
        if card.kind == "disease" and departments:
            return "/".join(departments[:2])
    return None


def suggest_department(
    question: Question,
    flags: Sequence[RedFlag] = (),
    knowledge: Sequence[KnowledgeCard] = (),
) -> str | None:
    """The department for the question (``knowledge``: the cards of the entities it names), or
    None when nothing decides it clearly."""
    pressing = [flag for flag in flags if flag.level in ("crisis", "emergency")]
    if any(flag.department is None for flag in pressing):
        return EMERGENCY_DEPARTMENT
    if sent := next((flag.department for flag in flags if flag.department), None):
        return sent
    scores = department_scores(question.normalized)
    for who, department in BY_PATIENT:
        if question.about(who):
            return _for_children(_clear_winner(scores)) if who == "child" else department
    if scores:
        return _clear_winner(scores)
    return department_from_knowledge(knowledge)
