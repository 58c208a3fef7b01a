"""The contract every store passes: the SQLite file and a real PostgreSQL (``pg_virtualenv``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

from langzhong.core import Article, RelatedLink, Section
from langzhong.ingest import fingerprint
from langzhong.ingest.writer import Writer
from langzhong.store import ArticleStore
from langzhong.store.vectors import VectorTable


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request, tmp_path) -> Callable[[], ArticleStore]:
    """Opens (again) one store of the backend under test."""
    if request.param == "postgres":
        from langzhong.store.postgres import PostgresStore

        url = request.getfixturevalue("postgres_url")

        def make() -> ArticleStore:
            return PostgresStore(url)
    else:

        def make() -> ArticleStore:
            return ArticleStore(tmp_path / "store.sqlite3")

    opened: list[ArticleStore] = []

    def open_store() -> ArticleStore:
        opened.append(make())
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(opener) -> ArticleStore:
    return opener()


def _article(number: int, title: str | None = None, **fields) -> Article:
    defaults = {
        "date": "2024-05-01",
        "source": "测试站",
        "lead": f"导语{number}：术后腰酸多与小关节承重有关。",
        "sections": (
            Section(heading="一、原因", level=1, text=f"原因{number}：肌肉力量下降。"),
            Section(heading="二、办法", level=1, text="适当锻炼腰背肌，避免久坐。"),
        ),
    }
    title = title or f"第{number}篇：腰椎手术后的康复"
    return Article(id=f"a{number:04d}", kind="article", title=title, **(defaults | fields))


def _put(store: ArticleStore, article: Article) -> int:
    with store.transaction():
        outcome, _ = Writer(store).write(article)
    assert outcome in ("added", "updated")
    return store.lookup(article.id).rowid


def test_an_article_comes_back_as_it_was_stored(store):
    article = _article(
        1,
        author="王医生",
        reviewed="2024-06-01",
        related=(RelatedLink(title="腰椎间盘突出怎么办"),),
    )
    rowid = _put(store, article)
    assert store.get(article.id) == article
    assert store.get_by_rowids([rowid]) == {rowid: article}
    assert store.lookup(article.id).content_hash == fingerprint.content_hash(article)
    assert store.lookup_hash(fingerprint.content_hash(article)).id == article.id
    assert store.rowids_titled(article.title) == [rowid]
    assert list(store.iter_articles(batch=1)) == [article]
    assert store.get("missing") is None and not store.is_empty()


def test_departments_are_read_for_ranked_rows_that_have_one(store):
    unlabelled = _put(store, _article(1))
    labelled = _put(store, _article(2, department="心血管科"))
    assert store.departments([unlabelled, labelled, 999]) == {labelled: "心血管科"}
    assert store.departments([]) == {}


def test_every_write_is_logged_in_order_and_a_reopened_store_keeps_its_identity(opener):
    store = opener()
    first = _put(store, _article(1))
    second = _put(store, _article(2))
    _put(store, _article(1, lead="导语已更新：术后腰酸要复查。"))
    with store.transaction():
        assert store.delete("a0002") == second
    log = store.changes_after(0, 100)
    assert [rowid for _, rowid in log] == [first, second, first, second]
    assert [seq for seq, _ in log] == sorted({seq for seq, _ in log})
    assert store.last_change() == log[-1][0]
    assert store.changes_after(log[1][0], 1) == [log[2]]
    assert store.get("a0002") is None
    assert opener().store_id == store.store_id


def test_an_update_replaces_sections_and_links(store):
    _put(store, _article(1, related=(RelatedLink(title="甲"), RelatedLink(title="乙"))))
    changed = _article(1, sections=(Section(heading="", level=1, text="只剩一段。"),))
    _put(store, changed)
    assert store.get("a0001") == changed
    assert store.counts()["related_links"] == 0
    assert store.counts()["sections"] == 1


def test_links_resolve_when_their_article_arrives_and_unresolve_when_it_leaves(store):
    _put(store, _article(1, related=(RelatedLink(title="术后发烧怎么办"),)))
    assert store.get("a0001").related[0].id is None
    _put(store, _article(2, title="术后发烧怎么办"))
    assert store.get("a0001").related[0].id == "a0002"
    assert store.counts()["related_links_resolved"] == 1
    with store.transaction():
        store.delete("a0002")
    assert store.get("a0001").related[0].id is None


def test_a_near_duplicate_is_found_by_its_signature(store):
    lead = "".join(f"第{i}点：腰椎术后康复要循序渐进，第{i}周可加强锻炼。" for i in range(30))
    article = _article(1, lead=lead)
    _put(store, article)
    signature = fingerprint.signature(article)
    found = store.signatures_sharing(fingerprint.band_keys(signature))
    assert [(stored.id, list(sig)) for stored, sig in found] == [("a0001", list(signature))]
    assert store.signatures_sharing([]) == []


def test_a_failed_transaction_leaves_nothing_and_a_savepoint_costs_only_its_article(store):
    with pytest.raises(RuntimeError), store.transaction():
        Writer(store).write(_article(1))
        raise RuntimeError("stop")
    assert store.is_empty() and store.changes_after(0, 10) == []
    with store.transaction() as conn:  # what the writer does for each article of a batch
        Writer(store).write(_article(2))
        conn.execute("SAVEPOINT article")
        with pytest.raises(Exception, match=r"(?i)unique"):
            conn.execute(
                "INSERT INTO articles (id, kind, title, lead, content_hash)"
                " VALUES ('a0002', 'article', '重复', '', '')"
            )
        conn.execute("ROLLBACK TO article")
        conn.execute("RELEASE article")
        Writer(store).write(_article(4))
    assert [a.id for a in store.iter_articles()] == ["a0002", "a0004"]


def test_meta_feedback_and_counts(store):
    store.set_meta("demo", "loading")
    store.set_meta("demo", "declined", replace=False)
    assert store.meta("demo") == "loading"
    store.set_meta("demo", "loaded")
    assert store.meta("demo") == "loaded"
    store.add_feedback("腰酸怎么办", "a0001", True, "2024-06-01T10:00Z")
    store.add_feedback("腰酸怎么办", "a0001", False, "2024-06-01T11:00Z")
    assert [f["helpful"] for f in store.iter_feedback()] == [True, False]
    _put(store, _article(1))
    counts = store.counts()
    assert (counts["articles"], counts["page_articles"], counts["feedback"]) == (1, 1, 2)
    assert store.size_bytes() > 0 and not store.has_table("crawl_urls")
    store.ping()


def test_concurrent_writers_commit_the_log_in_order(opener):
    """Two stores (two connections, as two servers have) write at once while a reader follows
    the log: the reader sees every change exactly once, none skipped."""
    writers = [opener(), opener()]
    reader = opener()
    seen: list[int] = []
    done = threading.Event()

    def follow() -> None:
        position = 0
        while True:
            finished = done.is_set()
            for seq, rowid in reader.changes_after(position, 1000):
                seen.append(rowid)
                position = seq
            if finished:
                return

    def write(store: ArticleStore, offset: int) -> None:
        for number in range(offset, offset + 40):
            _put(store, _article(number))

    follower = threading.Thread(target=follow)
    follower.start()
    threads = [threading.Thread(target=write, args=(s, i * 100)) for i, s in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    follower.join()
    assert sorted(seen) == sorted(a.rowid for a in map(reader.lookup, _ids(0, 100, 40)))
    assert len(seen) == len(set(seen)) == 80


def _ids(*offsets_and_count: int) -> list[str]:
    *offsets, count = offsets_and_count
    return [f"a{n:04d}" for offset in offsets for n in range(offset, offset + count)]


def test_vectors_follow_the_articles(store):
    table = VectorTable(store)
    assert VectorTable.counts(store) == {"with_vector": 0, "pending": 0}
    first, second = _put(store, _article(1)), _put(store, _article(2))
    table.adopt_model("model-a")
    assert table.pending(0, 10) == [first, second]
    hashes = store.content_hashes([first, second])
    vectors = np.eye(2, 8, dtype=np.float32)
    table.put([(first, hashes[first]), (second, "stale-hash")], vectors)
    assert table.pending(0, 10) == [second]  # its content changed since it was read
    seq, written, removed = table.changed_since(0)
    assert [row[0] for row in written] == [first] and removed == []
    codes = np.frombuffer(written[0][1], dtype=np.int8).astype(np.float32) * written[0][2]
    assert np.allclose(codes, vectors[0], atol=0.01)
    with store.transaction():
        store.delete("a0001")
    assert table.prune() == 1
    later, written, removed = table.changed_since(seq)
    assert later > seq and written == [] and removed == [first]
    assert VectorTable.counts(store) == {"with_vector": 0, "pending": 1}
    table.adopt_model("model-b")  # other weights: nothing of model-a is kept
    assert table.pending(0, 10) == [second]
