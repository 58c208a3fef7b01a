from collections.abc import Iterator

import pytest

from langzhong.config import Settings
from langzhong.core import Hit
from langzhong.search import searcher
from langzhong.service import Service

SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"
RELATED_TITLE = "腰突然直不起来是怎么回事"


def _marked(hit: Hit) -> list[str]:
    return [hit.passage[a:b] for a, b in hit.highlights]


def test_colloquial_question_finds_the_seed_with_its_answering_passage(service, seed_file):
    service.writing.ingest([seed_file])
    top = service.asking.ask("微创手术后腰酸是怎么回事").hits[0]
    assert (top.title, top.date, top.source) == (SEED_TITLE, "2020-07-14", "乡间郎中")
    assert "小关节" in top.passage and "承重" in top.passage
    # The lead states the cause outright (「这是因为…小关节承重增加」): it is the passage.
    assert top.section is None and "这是因为" in top.passage
    assert {"微创手术", "腰酸"} <= set(_marked(top))
    assert [link.title for link in top.related] == [RELATED_TITLE]


def test_the_related_article_is_found_on_its_own(service, seed_file):
    service.writing.ingest([seed_file])
    top = service.asking.ask("腰突然直不起来").hits[0]
    assert top.title == RELATED_TITLE
    assert [link.title for link in top.related] == [SEED_TITLE]


def test_search_goes_through_the_typo_fix(service, seed_file):
    service.writing.ingest([seed_file])
    top = service.asking.ask("滑膜嵌顿").hits[0]
    assert top.title == RELATED_TITLE
    assert "滑膜崁顿" in _marked(top)  # the page's own spelling is what gets highlighted


def test_question_with_no_known_words_gets_no_hits(service, seed_file):
    service.writing.ingest([seed_file])
    assert service.asking.ask("请问医生怎么回事").hits == ()
    assert service.asking.ask("xyzzy").hits == ()


def test_pages_of_results(service, tmp_path):
    for i in range(25):
        (tmp_path / f"{i}.txt").write_text(f"头痛问题{i}\n头痛的第{i}种情况说明。", "utf-8")
    service.writing.ingest([tmp_path])
    first = service.asking.ask("头痛", page=1, everything=True)
    third = service.asking.ask("头痛", page=3, everything=True)
    assert (first.total, len(first.hits), len(third.hits)) == (25, 10, 5)
    assert not {h.id for h in first.hits} & {h.id for h in third.hits}


@pytest.fixture
def words_only(tmp_path, monkeypatch) -> Iterator[Service]:
    """A service that searches by words alone: e5's nearest would join every document."""
    monkeypatch.setenv("LANGZHONG_DENSE", "off")
    opened = Service(Settings.load(tmp_path / "home"))
    yield opened
    opened.close()


def test_a_word_in_most_documents_is_left_out_of_the_first_stage(words_only, tmp_path, monkeypatch):
    service = words_only
    for i in range(9):
        (tmp_path / f"{i}.txt").write_text(f"头痛问题{i}\n头痛的第{i}种情况说明。", "utf-8")
    (tmp_path / "9.txt").write_text("头痛伴恶心\n头痛时恶心想吐的原因。", "utf-8")
    service.writing.ingest([tmp_path])
    # In a small index every word is searched: a short list costs nothing.
    assert service.asking.ask("头痛恶心", everything=True).total == 10
    monkeypatch.setattr(searcher, "LONG_LIST", 5)  # as long a list as a big index's
    # 头痛 is in every document: only 恶心 picks the candidates, and its document is first.
    found = service.asking.ask("头痛恶心", everything=True)
    assert (found.total, found.hits[0].title) == (1, "头痛伴恶心")
    # With no other word the index holds, the common word is searched after all.
    assert service.asking.ask("头痛眩晕", everything=True).total == 10
    assert service.asking.ask("头痛", everything=True).total == 10
