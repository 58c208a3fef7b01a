"""Answers that answer: the point a question asks, the features that say whether a document
speaks to it, and the confidence fitted to judged answers with its two bars."""

import numpy as np

from langzhong.question import read_question
from langzhong.search.confidence import (
    DENSE_FEATURES,
    FEATURES,
    POINT_FEATURES,
    CandidateSignals,
    feature_matrix,
    point_numbers,
)
from langzhong.text import default_analyzer, term_hashes
from langzhong.training.judged import JudgedQuestion, fit_judged, page_figures


def test_the_asked_point_and_what_it_asks_about_are_read_from_the_question():
    for question, point, about in (
        ("高血压能喝酒吗", "may-i", ("喝酒",)),
        ("肾病综合征能同房吗", "may-i", ("同房",)),
        ("孩子发烧39度怎么办", "treatment", ()),
        ("腰椎微创手术后腰酸痛是怎么回事", "cause", ()),
        ("乙肝会传染吗", "spread", ()),
        ("今天天气", None, ()),
    ):
        read = read_question(question)
        assert (read.point, read.point_object) == (point, about), question


def test_a_document_that_speaks_to_the_point_is_told_from_one_that_names_the_illness():
    analyzer = default_analyzer()
    question = read_question("高血压能喝酒吗")
    docs = ["高血压 患者 不能 喝酒 少 喝", "高血压 吃 降压药 硝苯地平"]
    numbers = [term_hashes(analyzer.terms(d)) for d in docs]
    signals = CandidateSignals(
        terms=list(question.terms),
        weights={t: 1.0 for t in question.terms},
        medical=frozenset(),
        bm25=np.array([1.0, 1.0]),
        blend=np.array([1.0, 1.0]),
        language=np.zeros(2),
        background=0.0,
        docs=numbers,
        dense=np.array([0.8, 0.8]),
        point=point_numbers(question, analyzer),
    )
    rows = feature_matrix(signals)
    assert rows.shape[1] == len(FEATURES + DENSE_FEATURES + POINT_FEATURES)
    asks, answered, about = rows[:, -3:].T
    assert list(asks) == [1, 1] and list(answered) == [1, 0] and list(about) == [1, 0]


def _judged(rng: np.random.Generator, n: int) -> list[JudgedQuestion]:
    """Questions whose first feature says how likely a candidate answers."""
    found = []
    for _ in range(n):
        signal = rng.normal(size=10)
        grades = np.where(signal + rng.normal(scale=0.5, size=10) > 1.0, 2, 1)
        found.append(JudgedQuestion(np.column_stack([signal, rng.normal(size=10)]), grades))
    return found


def test_the_bars_are_chosen_on_validation_to_show_mostly_answers():
    rng = np.random.default_rng(7)
    model, report = fit_judged(_judged(rng, 200), _judged(rng, 100))
    assert report["validation"]["kept_ratio"] >= 0.9
    assert model.best is not None and model.best >= model.threshold
    assert report["validation"]["best_answers"] >= 0.7
    everything = page_figures(model, _judged(rng, 100), 0.0, 0.0)
    assert everything["shown_that_answer"] < report["validation"]["shown_that_answer"]
