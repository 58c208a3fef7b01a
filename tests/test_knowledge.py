"""The medical knowledge graph: linking, intents, cards, department, pages and the API."""

import gzip
import json
from importlib import resources

import httpx
import pytest

from langzhong.answer.compose import cards_for
from langzhong.core import Article
from langzhong.evaluation.knowledge import knowledge_accuracy
from langzhong.knowledge import KnowledgeGraph, shipped_graph
from langzhong.knowledge.cards import CARD_ITEMS, knowledge_cards, other_names
from langzhong.knowledge.intents import classify
from langzhong.question import read_question
from langzhong.text import normalize
from langzhong.triage.department import suggest_department
from langzhong.triage.red_flags import red_flags


@pytest.fixture(scope="module")
def graph() -> KnowledgeGraph:
    loaded = shipped_graph()
    assert loaded is not None, "the package ships data/cmekg.jsonl.gz"
    return loaded


def linked(graph: KnowledgeGraph, text: str) -> list[tuple[str, str]]:
    return [(m.entity, m.form) for m in graph.link(text)]


def test_colloquial_names_link_to_their_entity(graph):
    assert linked(graph, "甲亢有什么症状") == [("甲状腺功能亢进症", "甲亢")]
    assert linked(graph, "身上起风疹块怎么办") == [("荨麻疹", "风疹块")]
    assert linked(graph, "拉肚子三天了") == [("腹泻", "拉肚子")]


def test_the_longest_name_wins_and_everyday_words_link_nothing(graph):
    assert linked(graph, "慢性胃炎要注意什么") == [("慢性胃炎", "慢性胃炎")]
    assert linked(graph, "想找个好医生看看") == []  # 好医生 is a drug's brand name
    assert linked(graph, "我有高血压和糖尿病") == [("高血压", "高血压"), ("糖尿病", "糖尿病")]


def test_a_childrens_illness_is_named_by_its_general_name_only_for_a_child(graph):
    # CMeKG's only entity called 羊角风 is 小儿癫痫: an adult must not get 儿科 from it.
    assert linked(graph, "癔病是羊角风吗") == [] and knowledge_cards("癔病是羊角风吗") == ()
    assert graph.named("羊角风") is None and graph.named("羊角风", child=True) == "小儿癫痫"
    assert linked(graph, "小儿癫痫吃什么药") == [("小儿癫痫", "小儿癫痫")]  # its own name
    for question in ("孩子羊角风怎么办", "3岁宝宝得了羊角风"):
        (card,) = cards_for(read_question(question))
        assert card.entity == "小儿癫痫"
        assert suggest_department(read_question(question), knowledge=(card,)) == "儿科"
    assert cards_for(read_question("我30岁，羊角风发作怎么办")) == ()


def test_the_graph_is_cleaned_where_it_is_noisy(graph):
    assert graph.entity("偏头痛").facts["就诊科室"] == ("神经内科",)  # not 小儿神经科
    assert "吸烟" not in graph.entity("骨质疏松症").facts["常见症状"]  # a risk factor
    assert graph.entity("糖尿病").facts["就诊科室"] == ("内分泌科",)  # 内科 is vaguer
    assert graph.entity("慢性乙型肝炎").facts["就诊科室"] == ("肝病科",)


@pytest.mark.parametrize(
    ("question", "entity", "fact"),
    [
        ("腰肌劳损挂什么科", "腰肌劳损", "就诊科室"),
        ("甲亢有什么症状", "甲状腺功能亢进症", "常见症状"),
        ("肾结石要做哪些检查", "肾结石", "检查"),
        ("风疹块是什么原因引起的", "荨麻疹", "常见病因"),
        ("布洛芬有什么副作用", None, "不良反应"),
        ("孕妇能吃布洛芬吗", None, "禁忌"),  # the stem names a formulation that has a 禁忌 list
    ],
)
def test_the_fact_the_question_asks_for_comes_first(question, entity, fact):
    card = knowledge_cards(question)[0]
    assert entity is None or card.entity == entity
    assert card.answer == fact and next(iter(card.facts)) == fact


def test_a_card_says_when_the_graph_lacks_the_asked_fact(graph):
    (card,) = knowledge_cards("阿莫西林怎么吃")
    assert "用法用量" not in graph.entity(card.entity).facts
    assert (card.answer, card.missing) == (None, "用法用量")


def test_an_entity_s_own_name_asks_nothing(graph):
    mentions = tuple(graph.link("药物热"))
    assert classify("药物热", "disease", mentions) is None  # 药 is part of the name


def test_a_card_shows_a_few_items_of_each_fact_and_says_which_have_more():
    card = knowledge_cards("甲亢有什么症状")[0]
    assert all(len(items) <= CARD_ITEMS for items in card.facts.values())
    assert "常见症状" in card.more
    assert card.url.startswith("/entity/") and "CMeKG" in card.source
    assert "ICD10" not in card.facts  # for the entity page, not for a patient's card


def test_the_graph_decides_the_department_after_who_the_patient_is():
    def department(q: str) -> str | None:
        read = read_question(q)
        return suggest_department(read, red_flags(read), knowledge=knowledge_cards(q))

    assert department("甲亢挂什么科") == "内分泌科"
    assert department("宝宝湿疹怎么办") == "皮肤科"  # a specialty that sees children
    assert department("湿疹怎么办") == "皮肤科"
    assert department("眼睛发黄是不是乙肝") == "肝病科"  # the illness before the body part


def test_synonyms_are_the_other_names_of_what_the_question_names():
    assert "甲状腺功能亢进症" in other_names("甲亢吃什么好")
    assert other_names("想找个好医生") == []


def test_held_out_templates_get_the_right_fact_first(graph):
    report = knowledge_accuracy(graph)
    scored = report["splits"]["score"]
    assert scored["questions"] >= 1000
    assert scored["answer_accuracy"] >= 0.95


def test_api_returns_knowledge_cards(demo_server):
    answer = httpx.get(f"{demo_server.url}/api/search", params={"q": "甲亢有什么症状"}).json()
    (card,) = answer["knowledge"]
    assert {"entity", "kind", "facts", "source"} <= set(card)
    assert (card["entity"], card["kind"], card["answer"]) == (
        "甲状腺功能亢进症",
        "disease",
        "常见症状",
    )
    assert list(card["facts"])[:2] == ["常见症状", "就诊科室"]
    assert answer["department"] == "内分泌科"


def test_a_crisis_page_has_no_card(demo_server):
    answer = httpx.get(f"{demo_server.url}/api/search", params={"q": "我有抑郁症，不想活了"}).json()
    assert answer["crisis"] and answer["knowledge"] == [] and answer["hits"] == []


def test_the_entity_page_lists_every_fact_and_articles(demo_server):
    page = httpx.get(f"{demo_server.url}/entity/慢性乙型肝炎")
    assert page.status_code == 200
    assert "就诊科室" in page.text and "肝病科" in page.text and "CMeKG" in page.text
    assert 'href="/article/' in page.text  # the demo corpus answers questions about 乙肝
    assert httpx.get(f"{demo_server.url}/entity/没有这种病").status_code == 404


def test_stats_report_the_graph(service):
    figures = service.admin.stats()["knowledge_graph"]
    assert figures["entities"] > 20_000 and figures["disease"] > 5_000


def test_the_shipped_keys_are_the_names_as_langzhong_normalises_them():
    """The build script normalises the names once; a change to normalize() needs a rebuild."""
    path = resources.files("langzhong.data").joinpath("cmekg.jsonl.gz")
    with resources.as_file(path) as file, gzip.open(file, "rt", encoding="utf-8") as lines:
        stale = [
            record["name"]
            for record in map(json.loads, lines)
            if record["keys"] != [normalize(n) for n in record["names"]]
        ]
    assert stale == []


def test_an_article_links_the_entities_its_title_and_lead_name(service):
    article = Article(
        id="a1", title="乙肝小三阳要吃药吗", lead="查出乙肝小三阳，肝功能正常，还有点高血压。"
    )
    names = [e.name for e in service.asking.mentioned_entities(article)]
    assert names[:1] == ["慢性乙型肝炎"] and "高血压" in names
