"""Only what answers is shown: confidence per hit, honest counts, crisis pages, the department
from the question, and passages that answer (issue 11)."""

from pathlib import Path

import numpy as np
import pytest

from langzhong.answer.compose import BEST_ANSWER_CONFIDENCE
from langzhong.config import Settings
from langzhong.core import Article, Section
from langzhong.question import read_question
from langzhong.search.confidence import CandidateSignals, feature_matrix
from langzhong.service import Service, shipped_confidence
from langzhong.text import default_analyzer
from langzhong.text.hashing import term_hashes
from langzhong.triage.department import shipped_model as shipped_department_model
from langzhong.triage.department import suggest_department
from langzhong.triage.red_flags import red_flags

DATA = Path(__file__).parent / "data"
SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text("utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Service:
    """The demo corpus as the README's run command builds it."""
    service = Service(Settings.load(tmp_path_factory.mktemp("demo") / "home"))
    service.writing.load_demo()
    yield service
    service.close()


def test_the_package_ships_a_confidence_model_with_a_threshold():
    model = shipped_confidence()
    assert model is not None and 0 < model.threshold < 1


def test_more_coverage_of_the_question_means_more_confidence():
    terms = ["腰椎", "手术", "腰酸"]
    signals = CandidateSignals(
        terms=terms,
        weights={"腰椎": 3.0, "手术": 1.0, "腰酸": 4.0},
        medical=frozenset(terms),
        bm25=np.array([10.0, 10.0]),
        blend=np.array([0.5, 0.5]),
        language=np.array([-20.0, -20.0]),
        background=-40.0,
        docs=[term_hashes(["腰椎", "手术", "腰酸", "休息"]), term_hashes(["手术", "休息", "饮食"])],
    )
    features = feature_matrix(signals)
    assert features[0, 5] == pytest.approx(1.0) and features[1, 5] == pytest.approx(1 / 8)
    full, partial = shipped_confidence().predict(features)
    assert full > partial


def test_every_shown_hit_clears_the_threshold_and_the_count_says_how_many(demo):
    threshold = shipped_confidence().threshold
    answer = demo.asking.ask("高血压能吃党参吗")
    assert 1 <= len(answer.hits) <= 10 and answer.total == len(answer.hits)
    assert all(hit.confidence >= threshold for hit in answer.hits)
    everything = demo.asking.ask("高血压能吃党参吗", everything=True)
    assert everything.total > answer.total and everything.everything
    assert answer.more == everything.total - answer.total
    assert all(hit.confidence is not None for hit in everything.hits)
    ranking = [c.article.id for c in demo.searcher.search("高血压能吃党参吗").candidates]
    assert len(ranking) == len(set(ranking))  # e5's finds join the head once, not twice


def test_only_a_sure_first_hit_is_called_the_best_answer(demo):
    sure = demo.asking.ask(SEED_TITLE)
    assert sure.best and sure.hits[0].confidence >= BEST_ANSWER_CONFIDENCE
    # the demo holds nothing on babies: the page says so rather than show a best answer
    nothing = demo.asking.ask("婴儿吐奶很频繁怎么办")
    assert nothing.abstained and not nothing.hits and not nothing.best
    assert demo.asking.ask("婴儿吐奶很频繁怎么办", everything=True).hits  # asked for anyway
    assert not demo.asking.ask(SEED_TITLE, everything=True).best  # the whole ranking names none
    assert not demo.asking.ask("我不想活了").best


def test_unanswerable_questions_show_few_hits(demo):
    questions = _lines("unanswerable.txt")
    assert len(questions) >= 40
    shown = [len(demo.asking.ask(q).hits) for q in questions]
    assert sum(shown) / len(shown) <= 1.5


def test_an_exact_title_finds_its_article_first(demo):
    for title in ("癔病是羊角风吗", "手脚无力，是什么原因", SEED_TITLE):
        answer = demo.asking.ask(title)
        assert not answer.abstained and answer.hits[0].title == title


def test_a_title_without_search_terms_is_still_found_by_itself(service):
    service.writing.write_articles(
        [Article(id="q1", kind="article", title="？！", lead="只有标点的标题。")]
    )
    answer = service.asking.ask("？！")
    assert [hit.id for hit in answer.hits] == ["q1"] and answer.hits[0].confidence == 1.0


def test_the_department_a_question_points_to_is_a_lift_for_its_documents():
    classifier = shipped_department_model()
    terms = default_analyzer().terms("高血压头晕，血压160/100，要吃什么降压药")
    heart, liver, unknown, none = classifier.lift(terms, ["心血管科", "肝病科", "儿科", None])
    assert heart > 0 > liver and unknown == none == 0.0
    assert not classifier.lift(default_analyzer().terms("你好"), ["心血管科"]).any()


def test_an_answer_from_the_questions_department_is_ranked_and_trusted_higher(service):
    answer = Section(heading="回答", level=1, text="高血压要按时吃降压药，低盐饮食，定期量血压。")
    # the same answer twice, the one from the question's department stored last
    labels = {"from-digestion": "消化科", "from-heart": "心血管科"}
    service.writing.write_articles(
        [
            Article(id=i, kind="qa", title="", department=d, sections=(answer,))
            for i, d in labels.items()
        ],
        dedupe=False,
    )
    hits = service.asking.ask("高血压头晕要吃什么降压药", everything=True).hits
    assert [hit.id for hit in hits] == ["from-heart", "from-digestion"]
    assert hits[0].confidence > hits[1].confidence


def test_a_crisis_question_gets_help_and_no_results(demo):
    for question in ("我不想活了", "活着没意思", "想结束自己的生命"):
        answer = demo.asking.ask(question)
        assert answer.crisis and answer.hits == () and answer.total == 0
        assert answer.red_flags[0].level == "crisis"
    assert demo.asking.ask("我不想活了", everything=True).hits == ()


def test_an_emergency_gets_its_notice_alone(demo):
    # 胃出血 finds confident answers in the demo corpus; none is shown beside "call 120 now".
    assert demo.asking.ask("胃出血怎么治疗").hits
    for question in ("喝酒后胃出血吐血", "吃了一整瓶安眠药", "老公突然晕倒叫不醒"):
        answer = demo.asking.ask(question)
        assert answer.emergency and not answer.crisis
        assert (answer.hits, answer.knowledge, answer.more) == ((), (), 0)
        assert answer.department == "急诊科"
    assert demo.asking.ask("喝酒后胃出血吐血", everything=True).hits == ()


def test_department_comes_from_who_the_patient_is():
    def department(question: str) -> str | None:
        read = read_question(question)
        return suggest_department(read, red_flags(read))

    assert department("小孩发烧39度怎么办") == "儿科"
    assert department("我女儿3岁，一直咳嗽") == "儿科"
    assert department("我儿子30岁了胃痛") == "消化内科"  # an adult: his words decide
    assert department("怀孕三个月见红怎么办") == "产科"  # urgent, and for the obstetricians
    assert department("怀孕三个月了能吃螃蟹吗") == "产科"  # a pregnancy goes to 产科
    assert department("怀孕5个月的胎儿动得少") == "产科"  # not a baby's age
    assert department("宝宝8个月大了还不会坐") == "儿科"
    assert department("女儿性早熟怎么办") == "儿科"  # only children have it
    assert department("精子活力低影响怀孕吗") == "男科"  # 影响怀孕 is no pregnancy
    assert department("手术后大小便失禁") == "急诊科"


def test_the_passage_answers_why_below_the_word_level(demo):
    answer = demo.asking.ask("做完腰椎的微创手术以后腰一直发酸，为什么会这样")
    top = answer.hits[0]
    assert top.title == SEED_TITLE
    assert "腰酸背痛" in top.passage and "这是因为" in top.passage


def test_a_passage_does_not_stop_on_a_colon(demo):
    top = demo.asking.ask("腰突然直不起来是怎么回事").hits[0]
    assert not top.passage.rstrip().endswith((":", "："))
    assert "软组织痉挛" in top.passage


def test_single_characters_are_not_lit_inside_other_words(demo):
    for hit in demo.asking.ask("头痛恶心看什么科", everything=True).hits[:10]:
        marked = [hit.passage[a:b] for a, b in hit.highlights]
        assert not {"看", "科", "活"} & set(marked)
