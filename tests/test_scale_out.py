"""Several servers on one shared PostgreSQL store (docs/scale-out.md), each with its own home."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import httpx
from conftest import API_TOKEN, LiveServer, run_cli

from langzhong.config import Settings
from langzhong.core import Article
from langzhong.service import Service

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
ARTICLE = {"title": "颈椎病怎么锻炼", "source": "测试站", "lead": "颈椎病患者可以做米字操。"}


def _service(home, url: str) -> Service:
    return Service(replace(Settings.load(home), store_url=url))


def _decline_demo(url: str) -> None:
    """An operator's own corpus: the first server does not load the demo into it."""
    from langzhong.store.postgres import PostgresStore

    store = PostgresStore(url)
    store.set_meta("demo", "declined")
    store.close()


def _top_ids(service: Service, question: str) -> list[str]:
    return [hit.id for hit in service.asking.ask(question, everything=True).hits]


def test_two_services_on_one_store_see_each_others_writes(tmp_path, postgres_url, seed_file):
    writer = _service(tmp_path / "one", postgres_url)
    reader = _service(tmp_path / "two", postgres_url)
    try:
        assert reader.asking.ask("腰椎微创手术后腰酸").hits == ()
        report = writer.writing.ingest([seed_file])
        assert report.counts["added"] >= 1
        seed_id = _top_ids(writer, "腰椎微创手术后腰酸")[0]
        assert _top_ids(reader, "腰椎微创手术后腰酸")[0] == seed_id  # no restart, no wait
        assert writer.writing.delete_article(seed_id)
        assert seed_id not in _top_ids(reader, "腰椎微创手术后腰酸")
        stats = reader.admin.stats()
        assert stats["store"].startswith("postgresql://") and ":***@" in stats["store"]
        assert stats["indexed_documents"] == stats["articles"] == report.counts["added"] - 1
    finally:
        writer.close()
        reader.close()


def test_a_server_joining_indexes_the_store_without_logging_it_again(tmp_path, postgres_url):
    first = _service(tmp_path / "one", postgres_url)
    first.writing.write_articles(
        Article(id=f"q{n}", kind="qa", title=f"问题{n}：颈椎病怎么锻炼", lead="可以做米字操。")
        for n in range(30)
    )
    logged = first.store.last_change()
    joining = _service(tmp_path / "two", postgres_url)
    try:
        joining.catch_up()
        assert joining.index.doc_count() == 30
        assert joining.store.last_change() == logged  # the others have nothing to replay
        assert len(joining.store.changes_after(0, 100)) == 30  # a shared log is never pruned
    finally:
        first.close()
        joining.close()


def test_the_cli_names_the_shared_store_and_never_its_password(tmp_path, postgres_url, monkeypatch):
    _decline_demo(postgres_url)
    monkeypatch.setenv("LANGZHONG_STORE_URL", postgres_url)
    password = postgres_url.split(":")[2].split("@")[0]
    shown = json.loads(run_cli("stats", "--json", home=tmp_path / "home").stdout)
    assert shown["store"] == postgres_url.replace(password, "***")
    assert password not in json.dumps(shown)
    monkeypatch.setenv("LANGZHONG_STORE_URL", "postgresql://nobody@127.0.0.1:9/none")
    refused = run_cli("stats", home=tmp_path / "home", check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "127.0.0.1:9" in refused.stderr


def test_two_serve_processes_share_writes_and_report_a_lost_store(
    tmp_path, postgres_cluster, postgres_url
):
    _decline_demo(postgres_url)
    env = {"LANGZHONG_STORE_URL": postgres_url}
    one = LiveServer(tmp_path / "one", token=API_TOKEN, **env)
    two = LiveServer(tmp_path / "two", token=API_TOKEN, **env)
    try:
        created = httpx.post(f"{one.url}/api/articles", json=ARTICLE, headers=AUTH)
        assert created.status_code == 201
        article_id = created.json()["id"]
        search = f"{two.url}/api/search"
        hits = httpx.get(search, params={"q": "颈椎病 米字操", "all": "true"}).json()["hits"]
        assert [hit["id"] for hit in hits] == [article_id]
        assert httpx.delete(f"{two.url}/api/articles/{article_id}", headers=AUTH).status_code == 204
        hits = httpx.get(f"{one.url}/api/search", params={"q": "颈椎病 米字操", "all": "true"})
        assert hits.json()["hits"] == []

        postgres_cluster.control("stop")
        try:
            started = time.monotonic()
            lost = httpx.get(search, params={"q": "颈椎病"}, timeout=30)
            assert lost.status_code == 503 and time.monotonic() - started < 5
            assert "unavailable" in lost.json()["detail"]
            health = httpx.get(f"{two.url}/healthz", timeout=30)
            assert health.status_code == 503
            assert health.json()["store"].startswith("down")
            refused = httpx.post(f"{one.url}/api/articles", json=ARTICLE, headers=AUTH, timeout=30)
            assert refused.status_code == 503
            page = httpx.get(f"{two.url}/search", params={"q": "颈椎病"}, timeout=30)
            assert page.status_code == 503 and "暂时无法访问" in page.text
            port = postgres_cluster.env["PGPORT"]  # where the store lives is for the log only
            assert all(port not in r.text for r in (lost, health, refused, page))
        finally:
            postgres_cluster.control("start")
        created = httpx.post(f"{one.url}/api/articles", json=ARTICLE, headers=AUTH)
        assert created.status_code == 201
        hits = httpx.get(search, params={"q": "颈椎病 米字操", "all": "true"}).json()["hits"]
        assert [hit["id"] for hit in hits] == [created.json()["id"]]
        assert httpx.get(f"{two.url}/healthz").json()["store"] == "ok"
    finally:
        one.stop()
        two.stop()


def test_two_servers_share_milvus_and_the_store_keeps_writes_while_milvus_is_down(
    tmp_path, postgres_url, milvus_server
):
    _decline_demo(postgres_url)
    env = {
        "LANGZHONG_STORE_URL": postgres_url,
        "LANGZHONG_ENGINE": "milvus",
        "LANGZHONG_MILVUS_URI": milvus_server.uri,
        "LANGZHONG_MILVUS_COLLECTION": f"e2e{tmp_path.name[-8:].replace('-', '_')}x",
    }
    one = LiveServer(tmp_path / "one", token=API_TOKEN, **env)
    two = LiveServer(tmp_path / "two", token=API_TOKEN, **env)
    search = f"{two.url}/api/search"
    question = {"q": "颈椎病 米字操", "all": "true"}
    try:
        article_id = httpx.post(f"{one.url}/api/articles", json=ARTICLE, headers=AUTH).json()["id"]
        assert [hit["id"] for hit in httpx.get(search, params=question).json()["hits"]] == [
            article_id
        ]
        assert httpx.get(f"{two.url}/healthz").json()["index"] == "ok"
        assert not any((tmp_path / home / "index").exists() for home in ("one", "two"))

        milvus_server.stop()
        try:
            started = time.monotonic()
            lost = httpx.get(search, params=question, timeout=30)
            assert lost.status_code == 503 and time.monotonic() - started < 10
            assert "search index is unavailable" in lost.json()["detail"]
            health = httpx.get(f"{one.url}/healthz", timeout=30)
            assert health.status_code == 503 and health.json()["index"].startswith("down")
            assert health.json()["store"] == "ok"
            assert milvus_server.uri not in lost.text + health.text
            later = {
                **ARTICLE,
                "title": "颈椎病能游泳吗",
                "lead": "颈椎病患者可以游泳，米字操也行。",
            }
            stored = httpx.post(f"{one.url}/api/articles", json=later, headers=AUTH, timeout=60)
            assert stored.status_code == 201  # in the store, logged for the index
        finally:
            milvus_server.start()
        back = httpx.get(search, params=question, timeout=60)
        assert back.status_code == 200, back.text
        assert {hit["id"] for hit in back.json()["hits"]} == {article_id, stored.json()["id"]}
        assert httpx.delete(f"{one.url}/api/articles/{article_id}", headers=AUTH).status_code == 204
        hits = httpx.get(search, params=question).json()["hits"]
        assert [hit["id"] for hit in hits] == [stored.json()["id"]]
    finally:
        one.stop()
        two.stop()


def test_migrate_to_the_shared_deployment_and_back(
    tmp_path, seed_file, postgres_url, milvus_server, monkeypatch
):
    embedded = tmp_path / "embedded"
    run_cli("ingest", str(seed_file), home=embedded)
    service = Service(Settings.load(embedded))
    hit = service.asking.ask("腰椎微创手术后腰酸").hits[0]
    service.asking.add_feedback("腰椎手术后腰酸", hit.id, True)
    vectors = service.vectors.counts()["with_vector"]
    service.close()

    monkeypatch.setenv("LANGZHONG_MILVUS_URI", milvus_server.uri)
    monkeypatch.setenv("LANGZHONG_MILVUS_COLLECTION", "migrated")
    out = run_cli(
        "migrate", "--to-store", postgres_url, "--to-engine", "milvus", "--json", home=embedded
    )
    there = json.loads(out.stdout)
    assert there["verified"] and there["mismatches"] == []
    assert there["counts"]["articles"]["target"] == there["indexed_documents"] >= 2
    assert there["counts"]["feedback"] == {"source": 1, "target": 1}
    assert there["vectors"] == vectors
    again = run_cli("migrate", "--to-store", postgres_url, home=embedded, check=False)
    assert again.returncode == 2 and "not empty" in again.stderr

    monkeypatch.setenv("LANGZHONG_STORE_URL", postgres_url)
    monkeypatch.setenv("LANGZHONG_ENGINE", "milvus")
    shared = run_cli("ask", "腰椎微创手术后腰酸", home=tmp_path / "a-server")
    assert "腰椎" in shared.stdout
    back = tmp_path / "back"
    out = run_cli(
        "migrate", "--to-store", str(back), "--to-engine", "tantivy", "--json", home=tmp_path
    )
    assert json.loads(out.stdout)["verified"]
    for name in ("LANGZHONG_STORE_URL", "LANGZHONG_ENGINE"):
        monkeypatch.delenv(name)
    home_again = json.loads(run_cli("stats", "--json", home=back).stdout)
    assert home_again["articles"] == there["counts"]["articles"]["source"]
    assert home_again["vectors"]["with_vector"] == vectors
