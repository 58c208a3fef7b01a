"""The contract every lexical index backend passes (see langzhong/index/base.py)."""

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from langzhong.index import Fts5Index, IndexDoc, LexicalIndex, TantivyIndex
from langzhong.store import ArticleStore
from langzhong.text import term_hashes

# Each opens (or reopens) the backend's index kept under a folder.
BACKENDS: dict[str, Callable[[Path], LexicalIndex]] = {
    "fts5": lambda folder: Fts5Index(folder / "store.sqlite3"),
    "tantivy": lambda folder: TantivyIndex(folder / "index"),
}


def _milvus(uri: str) -> Callable[[Path], LexicalIndex]:
    """A collection of its own on the test's milvus-lite server; its writer's lock and its
    document frequencies in an embedded store."""
    from langzhong.index.milvus_index import MilvusIndex

    collection = f"t{uuid.uuid4().hex[:12]}"
    return lambda folder: MilvusIndex(uri, collection, ArticleStore(folder / "milvus.sqlite3"))


@pytest.fixture(params=[*sorted(BACKENDS), "milvus"])
def opener(request, tmp_path) -> Callable[[], LexicalIndex]:
    opened = []
    if request.param == "milvus":
        make = _milvus(request.getfixturevalue("milvus_server").uri)
    else:
        make = BACKENDS[request.param]

    def open_index() -> LexicalIndex:
        opened.append(make(tmp_path))
        return opened[-1]

    yield open_index
    for index in opened:
        index.close()


@pytest.fixture
def index(opener) -> LexicalIndex:
    return opener()


def _upsert(index: LexicalIndex, *docs: IndexDoc) -> LexicalIndex:
    for doc in docs:
        index.upsert(doc)
    index.commit("test")
    return index


DOCS = [
    IndexDoc(1, ["腰椎", "手术"], ["腰酸", "背痛", "小关节", "承重"]),
    IndexDoc(2, ["高血压"], ["党参", "降压", "血压"]),
    IndexDoc(3, ["腹泻"], ["拉肚子", "腹泻", "腹泻", "补液"]),
    IndexDoc(4, ["头痛"], ["休息", "睡眠"]),
]


def _filled(index: LexicalIndex) -> LexicalIndex:
    return _upsert(index, *DOCS)


def test_finds_documents_holding_any_term_best_first(index):
    hits = _filled(index).search(["腹泻", "补液", "未知词"], 10)
    assert [key for key, _ in hits] == [3]
    hits = index.search(["腰酸", "血压"], 10)
    assert {key for key, _ in hits} == {1, 2}
    assert all(score > 0 for _, score in hits)


def test_title_terms_weigh_more_than_body_terms(index):
    _upsert(
        index,
        IndexDoc(10, ["咳嗽"], ["发热", "乏力", "鼻塞"]),
        IndexDoc(11, ["发热"], ["咳嗽", "乏力", "鼻塞"]),
    )
    assert [key for key, _ in index.search(["咳嗽"], 10)] == [10, 11]


def test_upsert_replaces_and_delete_forgets(index):
    _filled(index)
    _upsert(index, IndexDoc(2, ["低血压"], ["头晕"]))
    assert index.search(["党参"], 10) == []
    assert [k for k, _ in index.search(["头晕"], 10)] == [2]
    index.delete(2)
    index.delete(999)
    index.commit("test")
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
    assert index.term_stats(["腹泻", "腰酸", "不存在"]) == (4, {"腹泻": 1, "腰酸": 1})
    assert index.term_stats([]) == (4, {})


def test_document_terms_come_back_as_indexed_in_order(index):
    _filled(index)
    index.upsert(IndexDoc(5, [], []))
    index.commit("test")
    for keys in ([3, 999, 5], [5, 3]):  # straight after a search of them, or not
        index.search(["腹泻"], 10)
        hashes = index.doc_term_hashes(keys)
        assert sorted(hashes) == [3, 5]
        expected = term_hashes(["腹泻", "拉肚子", "腹泻", "腹泻", "补液"])  # title, then body
        assert hashes[3].tolist() == expected.tolist()
        assert hashes[5].tolist() == []


def test_a_repeated_query_term_weighs_more(index):
    _upsert(
        index,
        IndexDoc(20, [], ["腰痛", "休息", "热敷"]),
        IndexDoc(21, [], ["头晕", "休息", "热敷"]),
    )

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
    index.commit("test")
    assert index.doc_count() == 3


def test_writes_wait_for_the_commit_and_its_checkpoint(index):
    assert index.checkpoint() == ""
    _filled(index)
    index.upsert(IndexDoc(5, ["胃痛"], ["胃胀"]))
    index.delete(1)
    assert index.search(["胃胀"], 10) == []
    assert [k for k, _ in index.search(["腰酸"], 10)] == [1]
    index.commit("store-a:7")
    assert [k for k, _ in index.search(["胃胀"], 10)] == [5]
    assert index.search(["腰酸"], 10) == []
    assert index.checkpoint() == "store-a:7"


def test_released_writes_that_were_never_committed_are_gone(index):
    _filled(index)
    index.upsert(IndexDoc(5, ["胃痛"], ["胃胀"]))
    index.release()
    assert index.search(["胃胀"], 10) == []
    index.commit("after")  # the index can be written again after a release
    assert index.doc_count() == len(DOCS)


def test_clear_forgets_everything_at_the_commit(index):
    _filled(index)
    index.clear()
    index.upsert(IndexDoc(9, ["肩周炎"], ["肩膀痛"]))
    index.commit("rebuilt")
    assert index.doc_count() == 1
    assert index.search(["腰酸", "肩膀痛"], 10)[0][0] == 9


def test_committed_documents_and_checkpoint_survive_reopening(opener):
    first = opener()
    _filled(first)
    first.commit("store-b:42")
    first.close()
    again = opener()
    assert again.checkpoint() == "store-b:42"
    assert again.doc_count() == len(DOCS)
    assert [k for k, _ in again.search(["补液"], 10)] == [3]
