"""The index follows the store through its change log: rebuilt, caught up, never trusted blindly."""

import shutil
import sqlite3
from dataclasses import replace

import pytest

from langzhong.config import Settings
from langzhong.core import Article, Section
from langzhong.index import TantivyIndex
from langzhong.ingest import indexer
from langzhong.ingest.indexer import INLINE_BACKLOG
from langzhong.service import Service

SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"


def _article(n: int) -> Article:
    return Article(
        id=f"qa-{n}",
        kind="qa",
        title=f"第{n}号问题：肩周炎夜里疼得睡不着",
        sections=(Section(heading="医生回答", level=1, text=f"第{n}号回答：先热敷，再看骨科。"),),
    )


def _top_title(service: Service, question: str) -> str | None:
    hits = service.asking.ask(question).hits
    return hits[0].title if hits else None


@pytest.fixture
def home(tmp_path, seed_file):
    home = tmp_path / "home"
    service = Service(Settings.load(home))
    service.writing.ingest([seed_file])
    service.writing.write_articles(_article(n) for n in range(30))
    service.close()
    return home


def _reopened(home) -> Service:
    service = Service(Settings.load(home))
    service.catch_up()
    return service


def test_a_deleted_index_is_rebuilt_from_the_store(home):
    shutil.rmtree(home / "index")
    service = _reopened(home)
    assert service.index.doc_count() == 32
    assert _top_title(service, "微创手术后腰酸") == SEED_TITLE
    assert service.indexer.pending() == 0
    service.close()


def test_a_damaged_index_is_rebuilt_from_the_store(home):
    (home / "index" / "meta.json").write_text("{broken")
    service = _reopened(home)
    assert service.index.doc_count() == 32
    assert _top_title(service, "微创手术后腰酸") == SEED_TITLE
    service.close()


def test_an_index_from_another_store_is_not_trusted(home, tmp_path):
    other = tmp_path / "other"
    service = Service(Settings.load(other))
    service.writing.write_articles([_article(999)])
    service.close()
    shutil.rmtree(other / "index")
    shutil.copytree(home / "index", other / "index")  # 32 documents of a different store
    service = _reopened(other)
    assert service.index.doc_count() == 1
    assert _top_title(service, "微创手术后腰酸") != SEED_TITLE
    service.close()


def test_a_write_while_another_process_holds_the_index_is_indexed_by_the_next_catch_up(
    home, monkeypatch
):
    monkeypatch.setattr(indexer, "INDEX_NOW_WAIT_S", 0.5)  # how long the write waits for it
    holder = TantivyIndex(home / "index")
    holder.delete(-1)  # any write takes the index's writer lock
    service = Service(Settings.load(home))
    assert service.writing.put_article(_article(100)) == ("added", "qa-100")
    assert service.index.doc_count() == 32  # the holder has it: the store has the article
    assert service.indexer.pending() == 1
    holder.release()
    assert service.catch_up() == 1
    assert service.index.doc_count() == 33
    holder.close()
    service.close()


def test_an_api_write_indexes_itself_and_leaves_a_long_backlog_to_its_writer(home):
    service = _reopened(home)
    with service.store.transaction():  # another process's bulk ingest, not indexed yet
        for n in range(1000, 1001 + INLINE_BACKLOG):
            service.writer.write(_article(n))
    backlog = service.indexer.pending()
    assert backlog > INLINE_BACKLOG
    mine = _article(100).model_copy(update={"title": "颈椎病引起的头晕怎么缓解"})
    assert service.writing.put_article(mine) == ("added", "qa-100")
    assert _top_title(service, "颈椎病引起的头晕怎么缓解") == mine.title  # searchable at once
    assert service.indexer.pending() == backlog + 1  # nothing of the backlog replayed inline
    assert service.catch_up() == backlog + 1  # the replay later applies all, its own again
    assert service.index.doc_count() == 32 + backlog + 1
    service.close()


def test_a_short_backlog_is_applied_with_the_write(home):
    service = _reopened(home)
    with service.store.transaction():
        service.writer.write(_article(1000))
    service.writing.put_article(_article(100))
    assert service.indexer.pending() == 0 and service.index.doc_count() == 34
    service.close()


def test_a_rebuild_another_process_is_running_is_not_logged_again(home):
    shutil.rmtree(home / "index")
    holder = TantivyIndex(home / "index")
    holder.clear()  # another process has the new, empty index and is rebuilding it
    service = Service(Settings.load(home))
    logged = service.store.last_change()
    assert service.catch_up() == 0
    assert service.store.last_change() == logged  # 32 articles would be replayed twice
    holder.close()
    assert service.catch_up() == 32
    assert service.index.doc_count() == 32
    service.close()


def test_applied_changes_leave_the_log(home):
    conn = sqlite3.connect(home / "langzhong.sqlite3")
    assert conn.execute("SELECT count(*) FROM changes").fetchone()[0] == 0
    conn.close()
    service = _reopened(home)
    service.writing.delete_article("qa-3")
    assert service.admin.stats()["index_pending_changes"] == 0
    assert service.index.doc_count() == 31
    service.close()


def test_a_version_1_store_is_upgraded_and_reindexed(home):
    shutil.rmtree(home / "index")
    conn = sqlite3.connect(home / "langzhong.sqlite3")
    with conn:  # what a version 1 file looked like: FTS5 inside, no change log
        conn.execute("DROP TABLE changes")
        conn.execute("CREATE VIRTUAL TABLE fts USING fts5(title, body)")
        conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    conn.close()
    service = _reopened(home)
    assert service.index.doc_count() == 32
    assert _top_title(service, "微创手术后腰酸") == SEED_TITLE
    service.close()
    conn = sqlite3.connect(home / "langzhong.sqlite3")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert "fts" not in tables and "changes" in tables


def test_the_fts5_engine_answers_the_same_way(tmp_path, seed_file):
    settings = replace(Settings.load(tmp_path / "home"), engine="fts5")
    service = Service(settings)
    service.writing.ingest([seed_file])
    service.writing.write_articles(_article(n) for n in range(30))
    assert service.admin.stats()["index_engine"] == "fts5"
    assert service.index.doc_count() == 32
    assert _top_title(service, "微创手术后腰酸") == SEED_TITLE
    assert not (tmp_path / "home" / "index").exists()  # one file: FTS5 lives in the database
    service.close()


def test_an_unknown_engine_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LANGZHONG_ENGINE", "elasticsearch")
    with pytest.raises(ValueError, match="tantivy, fts5"):
        Settings.load()
