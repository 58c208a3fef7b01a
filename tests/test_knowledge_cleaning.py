"""The knowledge cards' items, cleaned where they come from (knowledge/cleaning.py, run by
scripts/build_knowledge.py), and the hand-reviewed sample of cards (tests/data/cards-sample*.jsonl).
"""

from pathlib import Path

import pytest

from langzhong.evaluation.cards import load_sample, share_right, shown_items
from langzhong.knowledge import KnowledgeGraph, shipped_graph
from langzhong.knowledge.cards import knowledge_cards
from langzhong.knowledge.cleaning import (
    Vocabulary,
    clean_disease,
    distinct,
    is_category,
    is_folk_cause,
    spelling_key,
    tidy,
)

DATA = Path(__file__).parent / "data"
SAMPLES = ("cards-sample.jsonl", "cards-sample-tuning.jsonl")
TARGET_SHARE = 0.95  # issue 36: of the items cards show, the share that is right
MEASURED_SHARE = 0.844  # on cards-sample.jsonl, docs/knowledge.md


@pytest.fixture(scope="module")
def graph() -> KnowledgeGraph:
    loaded = shipped_graph()
    assert loaded is not None, "the package ships data/cmekg.jsonl.gz"
    return loaded


def facts_of(graph: KnowledgeGraph, name: str) -> dict[str, tuple[str, ...]]:
    entity = graph.entity(name)
    assert entity is not None
    return entity.facts


def toy(facts: dict[str, list[str]], **words: frozenset[str]) -> dict[str, list[str]]:
    """A disease called 高血压 cleaned against a small vocabulary."""
    vocabulary = Vocabulary(
        diseases=words.get("diseases", frozenset()),
        drugs=words.get("drugs", frozenset()),
        drug_uses={"利妥昔单抗治疗": ("淋巴瘤",), "卡托普利": ("高血压", "心力衰竭")},
        generic=frozenset({"呕吐", "水肿"}),
    )
    return clean_disease(["高血压"], facts, vocabulary)


def test_spellings_of_one_item_are_one_item_in_its_plainest_spelling():
    spellings = ["β 受体阻滞剂", "β—受体阻滞剂", "β-受体阻滞剂", "ß－受体阻滞剂", "β受体阻滞剂"]
    assert len({spelling_key(s) for s in spellings}) == 1
    assert distinct(["依那普利", *spellings, "利尿剂"]) == ["依那普利", "β受体阻滞剂", "利尿剂"]
    assert spelling_key("阿—斯综合征") == spelling_key("阿-斯综合征")
    assert spelling_key("α受体阻滞剂") != spelling_key("β受体阻滞剂")


def test_hypertension_lists_beta_blockers_once(graph):
    treatments = facts_of(graph, "高血压")["治疗"]
    beta = [t for t in treatments if spelling_key(t) == spelling_key("β受体阻滞剂")]
    assert len(beta) == 1 and "卡托普利" in treatments


def test_a_disease_among_the_symptoms_is_no_symptom(graph):
    cleaned = toy({"常见症状": ["头痛", "心梗", "急性心力衰竭", "腹泻", "眩晕"]})
    assert cleaned["常见症状"] == ["头痛", "腹泻", "眩晕"]  # 腹泻 is a sign the graph files as one
    assert "心梗" not in facts_of(graph, "高血压")["常见症状"]


def test_a_sign_is_told_from_a_disease_by_the_graph_and_the_name():
    words = Vocabulary(diseases=frozenset({"腹泻", "贫血", "恶性贫血", "痴呆"}), drugs=frozenset())
    assert words.is_disease("心梗") and words.is_disease("中、重度慢性肝炎")
    assert words.is_disease("痴呆") and words.is_disease("恶性贫血")
    assert not words.is_disease("腹泻") and not words.is_disease("贫血")
    assert not words.is_disease("瘙痒症") and not words.is_disease("溃疡病")


def test_a_disease_among_the_tests_is_dropped(graph):
    cleaned = toy({"检查": ["眼底检查", "中、重度慢性肝炎", "测量血压"]})
    assert cleaned["检查"] == ["眼底检查", "测量血压"]
    tests = facts_of(graph, "慢性乙型肝炎")["检查"]
    assert "中、重度慢性肝炎" not in tests and "血清HBVDNA检测" in tests


def test_category_words_are_no_treatment_and_drugs_for_other_illnesses_go(graph):
    for word in ("治疗原则", "用药原则", "一般治疗", "对症治疗", "局部治疗", "其他", "实验室检查"):
        assert is_category(word), word
    assert not is_category("抗病毒治疗") and not is_category("心理治疗")
    cleaned = toy({"治疗": ["治疗原则", "卡托普利", "利妥昔单抗治疗", "低盐饮食", "对症治疗"]})
    assert cleaned["治疗"] == ["卡托普利", "低盐饮食"]  # rituximab is for lymphoma
    assert "治疗" not in facts_of(graph, "慢性乙型肝炎")  # it listed 治疗原则, 用药原则 only
    assert "利妥昔单抗治疗" not in facts_of(graph, "糖尿病")["治疗"]


def test_words_that_open_or_close_an_item_and_add_nothing_are_taken_off():
    assert tidy("大多为幽门螺杆菌感染") == "幽门螺杆菌感染"
    assert tidy("感染乙型肝炎病毒所致") == "感染乙型肝炎病毒"
    assert tidy("酒精等因素引起") == "酒精"
    assert tidy("系统性红斑狼疮") == "系统性红斑狼疮"


def test_folk_causes_are_dropped(graph):
    assert is_folk_cause("可能和睡眠不足") and is_folk_cause("上火") and is_folk_cause("体质")
    assert not is_folk_cause("过敏体质")  # atopy
    cleaned = toy({"常见病因": ["上火", "高钠盐", "精神紧张"]})
    assert cleaned["常见病因"] == ["高钠盐", "精神紧张"]
    causes = facts_of(graph, "甲状腺功能亢进症").get("常见病因", ())
    assert not any("睡眠不足" in cause for cause in causes)


def test_a_complication_that_is_a_common_sign_or_the_illness_itself_goes():
    cleaned = toy({"并发症": ["呕吐", "脑出血", "高血压", "水肿", "心力衰竭"]})
    assert cleaned["并发症"] == ["脑出血", "心力衰竭"]


@pytest.mark.parametrize("name", SAMPLES)
def test_the_hand_reviewed_cards_are_what_the_code_shows_and_all_judged(name):
    """A change of the cleaning needs a new review: scripts/sample_cards.py draws the sample
    again, keeping the judgements of the items that stayed."""
    lines = load_sample(DATA / name)
    assert len(lines) == 50
    for line in lines:
        (card,) = [c for c in knowledge_cards(line["title"]) if c.entity == line["entity"]]
        assert shown_items(card) == {
            fact: [judged["item"] for judged in items] for fact, items in line["facts"].items()
        }, line["entity"]
    assert share_right(lines)["all"]["unjudged"] == 0


def test_the_share_of_right_items_stays_at_what_was_reported():
    assert share_right(load_sample(DATA / SAMPLES[0]))["all"]["share_right"] >= MEASURED_SHARE


@pytest.mark.xfail(
    strict=True,
    reason="0.844 of the items shown are right on the final sample (docs/knowledge.md): CMeKG's "
    "lists hold wrong associations (symptoms of other illnesses, drugs on trial) no rule "
    "recognises",
)
def test_the_share_of_right_items_meets_the_target():
    assert share_right(load_sample(DATA / SAMPLES[0]))["all"]["share_right"] >= TARGET_SHARE
