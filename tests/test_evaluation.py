"""The evaluation harness and the learned reranker, on small data made here."""

import dataclasses
import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from langzhong.evaluation.dataset import bundled_data, load_rows, split
from langzhong.evaluation.judged import answer_key, judged_cut, load_judgements, read_judged
from langzhong.evaluation.metrics import evaluate
from langzhong.evaluation.tasks import Task, build_task
from langzhong.search.rerank import TranslationReranker
from langzhong.search.translation import TranslationModel, train_translation
from langzhong.text import term_hashes

ROWS = [
    {"id": f"r{i}", "department": "消化科", "title": title, "ask": ask, "answer": answer}
    for i, (title, ask, answer) in enumerate(
        [
            ("拉肚子怎么办", "拉肚子三天了", "腹泻时注意补液，口服补液盐。"),
            ("一直拉肚子", "吃坏东西拉肚子", "急性腹泻多为饮食不洁，注意补液。"),
            ("拉肚子吃什么药", "拉肚子严重", "腹泻可以吃蒙脱石散，并注意补液。"),
            ("头痛怎么办", "头痛两天", "偏头痛发作时应休息，必要时服用止痛药。"),
            ("老是头痛", "头痛睡不好", "头痛伴失眠可能与紧张有关，规律作息。"),
            ("胃胀怎么办", "吃完饭胃胀", "消化不良引起的胃胀可以吃促消化药。"),
        ]
    )
]


def test_split_is_fixed_and_disjoint():
    rows = [dict(r, id=str(i), title=f"{r['title']}{i}") for i, r in enumerate(ROWS * 20)]
    train, test = split(rows)
    assert (len(train), len(test)) == (84, 36)
    assert split(rows) == (train, test)
    assert not {r["id"] for r in train} & {r["id"] for r in test}


def test_rows_with_the_same_question_stay_on_one_side():
    rows = [dict(r, id=f"{i}-{n}") for i, r in enumerate(ROWS) for n in range(10)]
    train, test = split(rows)
    assert not {r["title"] for r in train} & {r["title"] for r in test}
    assert len(train) + len(test) == 60


def test_task_corpus_is_all_answers_and_same_title_answers_are_relevant():
    extra = dict(ROWS[0], id="dup", answer="另一位医生：腹泻要防脱水。")
    task = build_task("qa-retrieval", [*ROWS[1:], extra], [ROWS[0]])
    assert len(task.corpus) == 7
    (relevant,) = task.qrels.values()
    assert {task.corpus[d] for d in relevant} == {ROWS[0]["answer"], extra["answer"]}
    assert task.queries["q0"] == "拉肚子怎么办 拉肚子三天了"
    assert build_task("title-retrieval", ROWS[1:], ROWS[:1]).queries["q0"] == "拉肚子怎么办"
    with pytest.raises(ValueError):
        build_task("nope", ROWS, ROWS)


def test_metrics_of_a_perfect_and_of_an_empty_run():
    qrels = {"a": {"d1": 1}, "b": {"d2": 1}}
    perfect = evaluate(qrels, {"a": {"d1": 2.0, "d9": 1.0}, "b": {"d2": 1.0}})
    assert perfect == {"ndcg@10": 1.0, "mrr@10": 1.0, "recall@100": 1.0}
    half = evaluate(qrels, {"a": {"d9": 2.0, "d1": 1.0}})
    assert half["mrr@10"] == pytest.approx(0.25) and half["recall@100"] == 0.5


def test_translation_model_learns_colloquial_to_medical_words(tmp_path):
    # (filler such as 怎么办 never reaches the model: it is a stop-word)
    pairs = [(["拉肚子"], ["腹泻", "补液"])] * 5 + [(["头痛", "失眠"], ["偏头痛", "休息"])] * 5
    model = train_translation(pairs)
    ids = model.index_of()
    assert model.table[ids["腹泻"], ids["拉肚子"]] == pytest.approx(1.0)
    assert model.table[ids["偏头痛"], ids["头痛"]] == pytest.approx(0.5)
    assert model.table[ids["腹泻"], ids["头痛"]] == 0
    model.save(tmp_path / "m.npz")
    loaded = TranslationModel.load(tmp_path / "m.npz")
    assert loaded.vocab == model.vocab and (loaded.table != model.table).nnz == 0


def test_reranker_prefers_the_answer_that_translates_into_the_question():
    pairs = [(["拉肚子"], ["腹泻", "补液"])] * 8 + [(["头痛"], ["偏头痛"])] * 8
    # with two candidates, a blend of 0.5 ties by construction; 0.7 lets the language score decide
    model = dataclasses.replace(train_translation(pairs), blend=0.7)
    reranker = TranslationReranker(model)
    ranked = [(1, 5.0), (2, 4.0)]  # BM25 put the headache answer first
    docs = [term_hashes(["偏头痛", "休息"]), term_hashes(["腹泻", "补液"])]
    language = reranker.language_scores(["拉肚子"], docs)
    assert [key for key, _ in reranker.rerank(ranked, language)] == [2, 1]


def test_the_e5_share_reorders_by_meaning_and_a_missing_vector_counts_as_the_lowest():
    model = dataclasses.replace(train_translation([(["头痛"], ["偏头痛"])] * 4), blend=0.0)
    ranked = [(1, 5.0), (2, 4.0), (3, 3.0)]
    language = np.zeros(3)
    cosines = np.array([0.70, 0.90, np.nan])
    lexical = TranslationReranker(model).rerank(ranked, language, cosines)
    assert [key for key, _ in lexical] == [1, 2, 3]  # no e5 share: BM25's order
    meaning = TranslationReranker(dataclasses.replace(model, dense=0.8))
    assert [key for key, _ in meaning.rerank(ranked, language, cosines)] == [2, 1, 3]


def test_eval_command_writes_the_report(tmp_path):
    with gzip.open("src/langzhong/demo/medical-dialogue-im.jsonl.gz", "rt") as lines:
        rows = [json.loads(line) for line in lines]
    sample = random.Random(1).sample(rows, 300)
    data = tmp_path / "qa.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in sample), "utf-8")
    out = tmp_path / "report.json"
    done = run_cli("eval", "qa-retrieval", "--data", str(data), "--json", str(out), home=tmp_path)
    report = json.loads(out.read_text("utf-8"))
    assert (report["task"], report["n_queries"]) == ("qa-retrieval", 90)
    assert {"langzhong", "bm25s-jieba", "bm25s-char", "rank_bm25-jieba"} <= set(report["systems"])
    # The e5 systems: the sample's answers are the demo's, so their vectors ship with the package
    # and only the 90 questions are embedded (and timed).
    # With them, langzhong is the search with e5, beside langzhong-lexical without it.
    e5_systems = {"e5-dense", "bm25s+e5-rrf", "langzhong-lexical", "langzhong-lexical+e5-rrf"}
    assert e5_systems <= set(report["systems"])
    assert report["e5"]["question_ms"]["p50"] > 0
    assert report["e5"]["documents_embedded"] == 0
    for scores in report["systems"].values():
        assert 0 < scores["ndcg@10"] <= 1 and 0 < scores["recall@100"] <= 1
    assert "nDCG@10" in done.stdout
    precision = report["systems"]["langzhong"]["precision"]
    assert 0 < precision["best_named"] <= 1 and 0 <= precision["best_right"] <= 1
    assert "best answer named on" in done.stdout
    assert load_rows(data) == sample


def test_judged_answers_measure_the_page_by_what_answers_the_point(tmp_path):
    task = Task(
        "qa-retrieval",
        queries={"q0": "拉肚子怎么办 拉肚子三天了", "q1": "头痛怎么办 头痛两天"},
        corpus={"d0": "注意补液。", "d1": "口服补液盐。", "d2": "偏头痛时应休息。"},
        qrels={"q0": {"d0": 1}, "q1": {"d2": 1}},
    )

    def item(text: str, grade: int) -> dict:
        return {"answer": answer_key(text), "starts": text[:2], "grade": grade}

    lines = [
        {
            "question": "拉肚子怎么办 拉肚子三天了",
            "point": "怎么办",
            "judged": [item("注意补液。", 2), item("口服补液盐。", 2)],
        },
        {
            "question": "头痛怎么办 头痛两天",
            "point": "怎么办",
            "judged": [item("偏头痛时应休息。", 1), item("注意补液。", 0)],
        },
        {"question": "another split's question", "point": "?", "judged": [item("注意补液。", 2)]},
    ]
    path = tmp_path / "judged.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    judged = load_judgements(path, task)
    assert judged == {"q0": {"d0": 2, "d1": 2}, "q1": {"d2": 1, "d0": 0}}
    # q0's page shows the other answer that helps, not its labelled one, as its best answer;
    # q1 shows the off-topic one first, and one never judged
    figures = judged_cut(
        judged,
        {"q0": ["d1", "d0"], "q1": ["d2", "d0"]},
        {"q0": ["d1"], "q1": ["d0", "d9"]},
        {"q0": True, "q1": False},
    )
    assert figures["questions"] == 2
    assert (figures["answer_in_top10"], figures["answer_shown"], figures["kept_ratio"]) == (
        0.5,
        0.5,
        1,
    )
    assert (figures["mean_shown"], figures["shown_that_answer"], figures["shown_off_topic"]) == (
        1.5,
        round(1 / 3, 5),
        round(1 / 3, 5),
    )
    assert figures["shown_unjudged"] == round(1 / 3, 5)
    assert (figures["first_shown_answers"], figures["best_named"], figures["best_answers"]) == (
        0.5,
        0.5,
        1,
    )


def test_the_shipped_judgements_are_of_the_bundled_questions_and_their_corpus():
    rows = load_rows(bundled_data())
    questions = {f"{row['title']} {row['ask']}" for row in rows}
    answers = {answer_key(row["answer"].strip()) for row in rows}
    train, test = (set(f"{r['title']} {r['ask']}" for r in side) for side in split(rows))
    sizes = {"train": 300, "validation": 100, "test": 200}
    for name, size in sizes.items():
        entries = read_judged(Path(f"tests/data/judged/{name}.jsonl"))
        assert len(entries) >= size
        side = test if name == "test" else train  # judged data never crosses the split
        assert {e["question"] for e in entries} <= side & questions
        for entry in entries:
            assert {i["grade"] for i in entry["judged"]} <= {0, 1, 2} and entry["point"]
            assert {i["answer"] for i in entry["judged"]} <= answers


def test_eval_refuses_train_without_test(tmp_path):
    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps(ROWS[0], ensure_ascii=False), "utf-8")
    done = run_cli("eval", "qa-retrieval", "--train", str(data), home=tmp_path, check=False)
    assert done.returncode == 2 and "--train and --test go together" in done.stderr


def test_eval_names_the_line_that_is_not_json(tmp_path):
    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps(ROWS[0], ensure_ascii=False) + "\n{not json\n", "utf-8")
    done = run_cli(
        "eval",
        "qa-retrieval",
        "--train",
        str(data),
        "--test",
        str(data),
        home=tmp_path,
        check=False,
    )
    assert done.returncode == 2 and "qa.jsonl, line 2: not JSON" in done.stderr
