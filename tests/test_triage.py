"""Triage as the README's site serves it (e5 on): the red-flag rules and the semantic net on the
held-out half of the phrasing suites, false alarms on everyday questions, departments on the
held-out half of the labelled questions, and the 「什么时候需要就医」 guides.

The figures held here are what docs/safety.md reports; where they fall short of the targets of
the issue (held-out recall 0.95 emergency, 1.0 crisis, 0.9 urgent; department right 0.9, wrong
0.03) the docs say so. These tests keep what was reached from slipping back.
"""

from pathlib import Path

import pytest

from langzhong.config import Settings
from langzhong.evaluation.dataset import hash_split, load_rows, split
from langzhong.evaluation.safety import (
    alarm_report,
    department_report,
    load_labelled_departments,
    load_suites,
    suite_report,
)
from langzhong.question import read_question
from langzhong.service import Service
from langzhong.triage.guide import LEVELS, guides_for, topics
from langzhong.triage.red_flags import red_flags

DATA = Path(__file__).parent / "data"
DEMO_ROWS = Path(__file__).resolve().parents[1] / "src/langzhong/demo/medical-dialogue-im.jsonl.gz"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Service:
    """The product's triage with e5 on, on an empty home (triage reads the question alone)."""
    service = Service(Settings.load(tmp_path_factory.mktemp("triage")))
    assert service.admin.triage_net_state().startswith("on")
    yield service
    service.close()


def test_held_out_phrasings_keep_their_recall_and_near_misses_stay_quiet(served):
    phrasings = [p for p in load_suites(DATA / "red-flags") if p.split != "tune"]
    both = suite_report(phrasings, lambda text: served.asking.triage(text).flags)
    report = both["held-out"]
    recall = report["recall"]
    assert recall["emergency"] >= 0.93 and recall["urgent"] >= 0.87 and recall["crisis"] >= 0.94
    assert report["near_miss_alarms"] <= 0.09
    assert report["first_notice_by"].get("net", 0) > 0  # the net catches what the rules miss
    fresh = both["fresh"]  # the second held-out set, by a writer who saw no rule
    assert fresh["hits"] == {"crisis": 60, "emergency": 165, "urgent": 55}
    assert fresh["recall"]["crisis"] >= 0.95 and fresh["recall"]["emergency"] >= 0.93
    assert fresh["near_miss_alarms"] <= 0.05
    fresh_2 = both["fresh-2"]  # a third, written after the second was measured
    assert fresh_2["hits"] == {"crisis": 70, "emergency": 184, "urgent": 66}
    assert fresh_2["recall"]["crisis"] >= 0.92 and fresh_2["recall"]["emergency"] >= 0.95
    assert fresh_2["recall"]["urgent"] >= 0.95 and fresh_2["near_miss_alarms"] <= 0.12


def test_everyday_questions_of_the_test_split_rarely_raise_a_notice(served):
    _, test = split(load_rows(DEMO_ROWS))
    questions = [f"{row['title']} {row['ask']}" for row in test]
    report = alarm_report(questions, lambda text: served.asking.triage(text).flags)
    assert report["share"] <= 0.011
    assert report["by_level"].get("crisis", 0) <= 3  # each says it in its own words: docs/safety.md


def test_departments_of_held_out_questions(served):
    rows = load_labelled_departments(DATA / "departments-labelled.tsv")
    assert len(rows) >= 150 and len({d for *_, accepted in rows for d in accepted}) >= 25
    for whole in ("fresh", "fresh-2"):  # held out whole, by writers who saw no rule
        rows += load_labelled_departments(DATA / f"departments-{whole}.tsv", whole_split=whole)
    report = department_report(rows, lambda q: served.asking.triage(q).department)
    held_out, fresh, fresh_2 = report["held-out"], report["fresh"], report["fresh-2"]
    assert held_out["right"] >= 0.72 and held_out["wrong"] <= 0.15
    assert fresh["questions"] == 220 and fresh["right"] >= 0.72 and fresh["wrong"] <= 0.15
    assert fresh_2["questions"] == 240 and fresh_2["right"] >= 0.79 and fresh_2["wrong"] <= 0.1


def test_no_door_where_only_the_internal_medicine_classifier_would_pick_one(served):
    """Trained on internal medicine alone, it was sure of a wrong door for questions outside it."""
    for question in ("AMH偏低还能自然怀孕吗", "药过期了一个月还能吃吗", "小擦伤用碘伏还是酒精"):
        assert served.asking.triage(question).department is None


def test_the_net_catches_phrasings_the_rules_do_not_know(served):
    for question, rule in (
        ("儿子把一瓶安眠药全倒嘴里了", "overdose-or-poisoning"),
        ("头像被闷棍打了一下，突然就疼得不行", "sudden-severe-headache"),
    ):
        assert red_flags(read_question(question)) == ()
        (flag,) = served.asking.triage(question).flags
        assert (flag.id, flag.matched) == (rule, "net")


def test_without_e5_the_rules_still_run_and_stats_says_the_net_is_off(tmp_path, monkeypatch):
    monkeypatch.setenv("LANGZHONG_DENSE", "off")
    service = Service(Settings.load(tmp_path / "home"))
    try:
        assert service.admin.stats()["triage_net"].startswith("off")
        assert [f.id for f in service.asking.triage("胸口剧痛，出冷汗").flags] == ["chest-pain"]
        assert service.asking.triage("儿子把一瓶安眠药全倒嘴里了").flags == ()  # the net's catch
    finally:
        service.close()


def test_a_phrasing_outside_its_hash_half_is_refused(tmp_path):
    text = "胸口像压了块石头"
    wrong = "tune" if hash_split(text) == "held-out" else "held-out"
    (tmp_path / "chest-pain.tsv").write_text(
        f"# chest-pain — emergency — 胸痛\n{wrong}\thit\t{text}\n", "utf-8"
    )
    with pytest.raises(ValueError, match="split is not its hash's"):
        load_suites(tmp_path)


def test_who_the_patient_is_is_read_from_the_question():
    def who(question: str) -> set[str]:
        return set(read_question(question).patient)

    assert who("两个月宝宝发烧38度5") == {"child", "baby"}
    assert who("宝宝才出生一周 发烧了") == {"child", "baby"}
    assert who("孩子发烧两个月了") == {"child"}  # a duration, not an age
    assert who("我儿子30岁了胃痛") == set()
    assert who("怀孕三个月肚子疼") == {"pregnancy"}
    assert who("精子活力低影响怀孕吗") == set()  # 影响怀孕 is no pregnancy
    assert who("我爸72岁高血压") == {"elderly"}
    assert who("腰椎手术后发烧") == {"after-surgery"}
    assert who("我爸吃华法林，这两天大便发黑") == set()  # 两天大便 is no two-day-old baby
    assert who("结婚两年没孩子，男方要查什么") == set()


def test_a_child_goes_to_the_specialty_that_sees_children_else_to_paediatrics(served):
    assert served.asking.triage("孩子蛀牙了乳牙要补吗").department == "口腔科"
    assert served.asking.triage("孩子咳嗽有痰晚上咳醒").department == "儿科"
    assert served.asking.triage("宝宝湿疹怎么办").department == "皮肤科"
    # a pregnancy first: the baby of 会传给宝宝吗 is unborn
    assert served.asking.triage("怀孕了查出乙肝小三阳，会传给宝宝吗").department == "产科"


def test_words_that_point_two_ways_give_no_department_rather_than_a_wrong_one(served):
    assert served.asking.triage("今天天气怎么样").department is None
    assert served.asking.triage("淋巴瘤化疗几个疗程").department is None  # 血液科 or 肿瘤科: either
    # the point comes last
    assert served.asking.triage("糖尿病要查眼底去哪个科").department == "眼科"


def test_a_topic_question_gets_its_guide_with_every_line_sourced():
    (fever,) = guides_for(read_question("孩子发烧39度怎么办"))
    assert fever.id == "child-fever" and fever.emergency and fever.urgent and fever.self_care
    assert {g.id for g in guides_for(read_question("怀孕三个月肚子疼"))} == {"pregnancy"} | {
        "belly-pain"
    }
    assert guides_for(read_question("乙肝小三阳要吃药吗")) == ()
    assert len(topics()) >= 12
    for topic in topics():
        for level in LEVELS:
            for sign in getattr(topic.guide, level):
                assert sign.text and sign.source
                assert sign.url.startswith("https://") or sign.source.startswith("脊柱手术")
