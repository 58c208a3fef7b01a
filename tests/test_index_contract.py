"""The contract every lexical index backend passes (see langzhong/index/base.py)."""

import sqlite3

import pytest

from langzhong.index import Fts5Index, IndexDoc, LexicalIndex


def _fts5() -> LexicalIndex:
    return Fts5Index(sqlite3.connect(":memory:"))


BACKENDS = {"fts5": _fts5}


@pytest.fixture(params=sorted(BACKENDS))
def index(request) -> LexicalIndex:
    return BACKENDS[request.param]()


DOCS = [
    IndexDoc(1, ["腰椎", "手术"], ["腰酸", "背痛", "小关节", "承重"]),
    IndexDoc(2, ["高血压"], ["党参", "降压", "血压"]),
    IndexDoc(3, ["腹泻"], ["拉肚子", "腹泻", "腹泻", "补液"]),
    IndexDoc(4, ["头痛"], ["休息", "睡眠"]),
]


def _filled(index: LexicalIndex) -> LexicalIndex:
    for doc in DOCS:
        index.upsert(doc)
    return index


def test_finds_documents_holding_any_term_best_first(index):
    hits = _filled(index).search(["腹泻", "补液", "未知词"], 10)
    assert [key for key, _ in hits] == [3]
    hits = index.search(["腰酸", "血压"], 10)
    assert {key for key, _ in hits} == {1, 2}
    assert all(score > 0 for _, score in hits)


def test_title_terms_weigh_more_than_body_terms(index):
    index.upsert(IndexDoc(10, ["咳嗽"], ["发热", "乏力", "鼻塞"]))
    index.upsert(IndexDoc(11, ["发热"], ["咳嗽", "乏力", "鼻塞"]))
    assert [key for key, _ in index.search(["咳嗽"], 10)] == [10, 11]


def test_upsert_replaces_and_delete_forgets(index):
    _filled(index)
    index.upsert(IndexDoc(2, ["低血压"], ["头晕"]))
    assert index.search(["党参"], 10) == []
    assert [k for k, _ in index.search(["头晕"], 10)] == [2]
    index.delete(2)
    index.delete(999)
    assert index.search(["头晕"], 10) == []
    assert index.doc_count() == 3


def test_limit_and_empty_queries(index):
    _filled(index)
    assert len(index.search(["腰酸", "血压", "腹泻", "头痛"], 2)) == 2
    assert index.search([], 10) == []
    assert index.search(["腰酸"], 0) == []


def test_query_syntax_in_terms_is_just_text(index):
    _filled(index)
    for term in ['"', "*", "NEAR", "AND", "OR", "-", ":", "(", ")", "腰酸 OR 1=1", "title:腰椎"]:
        assert isinstance(index.search([term], 10), list)


def test_document_frequencies(index):
    _filled(index)
    assert index.doc_freqs(["腹泻", "腰酸", "不存在"]) == {"腹泻": 1, "腰酸": 1}


def test_document_terms_come_back_as_indexed(index):
    _filled(index)
    terms = index.doc_terms([3, 999])
    assert list(terms) == [3]
    assert sorted(terms[3]) == sorted(["腹泻", "拉肚子", "腹泻", "腹泻", "补液"])


def test_a_repeated_query_term_weighs_more(index):
    index.upsert(IndexDoc(20, [], ["腰痛", "休息", "热敷"]))
    index.upsert(IndexDoc(21, [], ["头晕", "休息", "热敷"]))

    def best(terms: list[str]) -> int:
        return index.search(terms, 10)[0][0]

    assert best(["腰痛", "头晕"]) in (20, 21)
    assert best(["腰痛", "头晕", "头晕"]) == 21
    assert best(["腰痛", "腰痛", "头晕"]) == 20


def test_document_count_follows_every_change(index):
    assert index.doc_count() == 0
    _filled(index)
    index.upsert(IndexDoc(1, ["腰椎"], ["腰酸"]))  # a replacement is not a new document
    index.delete(4)
    index.delete(4)
    assert index.doc_count() == 3
