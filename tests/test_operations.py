"""What an operator of the shared deployment runs on (docs/operations.md, docs/scale-out.md):
Milvus answering a question in one call with the vectors inside it, the store's index shape,
schema upgrades, a restore drill, and the metrics a server reports. On Debian's PostgreSQL
(``pg_virtualenv``) and a milvus-lite server."""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import replace

import httpx
import psycopg
import pytest
from conftest import API_TOKEN, FEVER, TEETH, LiveServer, run_cli
from prometheus_client.parser import text_string_to_metric_families

from langzhong.config import Settings
from langzhong.core import Article
from langzhong.index.dense import VectorsInIndex
from langzhong.service import Service
from langzhong.store.postgres import SCHEMA_VERSION, PostgresStore

NECK = [
    Article(id=f"neck{n}", kind="qa", title=f"颈椎病第{n}问", lead=f"颈椎病患者可以做米字操{n}。")
    for n in range(5)
]


def _collection() -> str:
    return f"c{uuid.uuid4().hex[:10]}"


def _milvus_settings(home, url: str, uri: str, collection: str) -> Settings:
    return replace(
        Settings.load(home),
        store_url=url,
        engine="milvus",
        milvus_uri=uri,
        milvus_collection=collection,
        milvus_timeout_s=30,
    )


def _decline_demo(url: str) -> None:
    store = PostgresStore(url)
    store.set_meta("demo", "declined")
    store.close()


def test_a_question_costs_one_milvus_call_which_searches_the_vectors_there_too(
    tmp_path, postgres_url, milvus_server, monkeypatch
):
    monkeypatch.setenv("LANGZHONG_DENSE", "on")
    settings = _milvus_settings(tmp_path / "one", postgres_url, milvus_server.uri, _collection())
    service = Service(settings)
    reader = Service(replace(settings, home=tmp_path / "two"))
    try:
        if service.embedder is None:
            pytest.skip(f"dense retrieval is {service.dense_state}")
        service.writing.write_articles([FEVER, TEETH, *NECK])
        assert service.vectors.counts() == {"with_vector": 7, "pending": 0}
        assert isinstance(reader.searcher.dense.index, VectorsInIndex)  # no vectors in memory
        question = "娃发热怎么处理"  # no word of the fever article: only its vector finds it
        assert reader.index.search(reader.analyzer.terms(question), 10) == []
        reader.asking.ask("颈椎病 米字操")  # the first question loads e5
        before = reader.index.calls
        answer = reader.asking.ask(question, everything=True)
        assert reader.index.calls - before <= 2
        assert [hit.id for hit in answer.hits][:1] == ["fever"]
        before = reader.index.calls
        hits = reader.asking.ask("颈椎病 米字操", everything=True).hits
        assert {a.id for a in NECK} <= {hit.id for hit in hits}
        assert reader.index.calls - before <= 2
        assert reader.admin.stats()["index_calls_per_question"] <= 2
        # Document frequencies come from the store, where the writer keeps them.
        assert reader.index.term_stats(["颈椎病", "牙龈"]) == (7, {"颈椎病": 5, "牙龈": 1})
    finally:
        service.close()
        reader.close()


def test_document_frequencies_out_of_step_with_milvus_are_counted_again(
    tmp_path, postgres_url, milvus_server, monkeypatch
):
    monkeypatch.setenv("LANGZHONG_DENSE", "off")
    settings = _milvus_settings(tmp_path / "one", postgres_url, milvus_server.uri, _collection())
    service = Service(settings)
    try:
        service.writing.write_articles(NECK)
        # As if the writer died between the store's counts and Milvus's commit.
        terms = service.index.terms
        terms.apply({}, 100, "a-commit-milvus-never-saw")
        service.writing.put_article(FEVER)
        assert service.index.term_stats(["颈椎病", "布洛芬"]) == (6, {"颈椎病": 5, "布洛芬": 1})
    finally:
        service.close()


def test_a_server_of_another_index_shape_is_refused_until_the_store_is_reshaped(
    tmp_path, postgres_url, milvus_server, monkeypatch
):
    _decline_demo(postgres_url)
    monkeypatch.setenv("LANGZHONG_STORE_URL", postgres_url)
    monkeypatch.setenv("LANGZHONG_MILVUS_URI", milvus_server.uri)
    monkeypatch.setenv("LANGZHONG_MILVUS_COLLECTION", collection := _collection())
    monkeypatch.setenv("LANGZHONG_ENGINE", "milvus")
    monkeypatch.setenv("LANGZHONG_MILVUS_TOKEN", "root:a-milvus-secret")  # milvus-lite ignores it
    shown = json.loads(run_cli("stats", "--json", home=tmp_path / "a").stdout)
    assert shown["index_shape"] == f"milvus:{collection}"
    assert shown["settings"]["milvus_token"] == "set" and "a-milvus-secret" not in json.dumps(shown)
    monkeypatch.setenv("LANGZHONG_ENGINE", "tantivy")
    refused = run_cli("stats", home=tmp_path / "b", check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"the shared Milvus collection '{collection}'" in refused.stderr
    assert "langzhong migrate --reshape" in refused.stderr
    serve = run_cli("serve", "--port", "9", home=tmp_path / "b", check=False)  # before listening
    assert serve.returncode == 2 and "Milvus collection" in serve.stderr

    reshaped = json.loads(run_cli("migrate", "--reshape", "--json", home=tmp_path / "b").stdout)
    assert reshaped["index_shape"] == "own"
    assert json.loads(run_cli("stats", "--json", home=tmp_path / "b").stdout)["index_shape"] == (
        "own"
    )
    monkeypatch.setenv("LANGZHONG_ENGINE", "milvus")
    assert run_cli("stats", home=tmp_path / "a", check=False).returncode == 2


def test_a_store_of_the_previous_schema_is_upgraded_in_place(tmp_path, postgres_url, monkeypatch):
    service = Service(replace(Settings.load(tmp_path / "home"), store_url=postgres_url))
    service.writing.write_articles(NECK)
    service.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # as version 3 left it
        conn.execute("DROP TABLE index_terms, rate_limits")
        conn.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    monkeypatch.setenv("LANGZHONG_STORE_URL", postgres_url)
    out = run_cli("migrate", "--upgrade", "--json", home=tmp_path / "home")
    assert json.loads(out.stdout)["schema"] == {"before": 3, "after": SCHEMA_VERSION}
    store = PostgresStore(postgres_url)
    assert store.has_table("index_terms") and store.has_table("rate_limits")
    assert store.counts()["articles"] == len(NECK)
    assert store.upgraded == (SCHEMA_VERSION, SCHEMA_VERSION)
    store.close()
    assert "颈椎病第0问" in run_cli("ask", "颈椎病第0问", home=tmp_path / "home").stdout

    with psycopg.connect(postgres_url, autocommit=True) as conn:  # a newer langzhong's store
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    refused = run_cli("stats", home=tmp_path / "home", check=False)
    assert refused.returncode == 2 and "schema version 99 is newer" in refused.stderr


def test_restore_drill_dump_drop_restore_and_every_article_is_found(
    tmp_path, postgres_cluster, postgres_url, milvus_server, seed_file, monkeypatch
):
    monkeypatch.setenv("LANGZHONG_DENSE", "off")
    settings = _milvus_settings(tmp_path / "before", postgres_url, milvus_server.uri, _collection())
    service = Service(settings)
    service.writing.ingest([seed_file])
    service.writing.write_articles(NECK)
    titles = {article.id: article.title for article in service.store.iter_articles()}
    frequencies = service.index.term_stats(["颈椎病", "腰椎", "米字操"])
    service.close()
    env = postgres_cluster.env
    dump = tmp_path / "langzhong.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", dump, postgres_url], env=env, check=True)
    database = postgres_url.rsplit("/", 1)[1]
    admin = postgres_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")
    subprocess.run(["pg_restore", "-d", postgres_url, dump], env=env, check=True)
    from pymilvus import MilvusClient  # the index is lost too: it is rebuilt from the store

    client = MilvusClient(uri=milvus_server.uri)
    for name in (settings.milvus_collection, f"{settings.milvus_collection}_state"):
        client.drop_collection(name)
    client.close()

    restored = Service(replace(settings, home=tmp_path / "after"))
    try:
        restored.catch_up()
        assert restored.index.doc_count() == len(titles) == restored.admin.stats()["articles"]
        assert restored.index.term_stats(["颈椎病", "腰椎", "米字操"]) == frequencies
        for article_id, title in titles.items():
            hits = restored.asking.ask(title, everything=True).hits
            assert article_id in [hit.id for hit in hits[:3]], title
    finally:
        restored.close()


def _scrape(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics").text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k != "pid")
            key = f"{sample.name}{{{labels}}}"
            samples[key] = samples.get(key, 0) + sample.value
    return samples


def test_metrics_add_up_every_worker_and_access_lines_keep_questions_out(tmp_path, seed_file):
    run_cli("ingest", str(seed_file), home=tmp_path / "home")
    server = LiveServer(tmp_path / "home", token=API_TOKEN, workers=2)
    try:
        for _ in range(6):
            httpx.get(f"{server.url}/api/search", params={"q": "腰椎微创手术后腰酸"})
        httpx.get(f"{server.url}/api/search", params={"q": "腰痛，两条腿都没劲了"})
        httpx.get(f"{server.url}/api/search", params={"q": "xyzzy 火星文"})
        httpx.get(f"{server.url}/api/articles/no-such-article")
        seen = _scrape(server.url)
    finally:
        server.stop()
    assert seen["langzhong_requests_total{route=/api/search,status=200}"] == 8
    assert seen["langzhong_requests_total{route=/api/articles/{article_id},status=404}"] == 1
    assert seen["langzhong_request_seconds_count{route=/api/search}"] == 8
    assert seen["langzhong_answers_total{}"] == 8
    assert seen["langzhong_answers_abstained_total{}"] >= 1
    assert seen["langzhong_red_flags_total{level=emergency}"] == 1
    assert seen["langzhong_index_lag{}"] == 0
    assert seen["langzhong_vectors_pending{}"] == 0
    assert seen["langzhong_articles{}"] >= 2
    assert "langzhong_index_calls_total{}" in seen
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if '"route"' in line]
    searches = [line for line in lines if line["route"] == "/api/search"]
    assert len(searches) == 8 and {line["status"] for line in searches} == {200}
    assert len({line["worker"] for line in lines}) >= 1
    assert all({"time", "ms", "worker"} <= set(line) for line in lines)
    assert "腰椎" not in server.log.read_text() and "query" not in searches[0]


def _statuses(urls: list[str], count: int) -> list[int]:
    """``count`` searches from this client, each on a new connection, spread over ``urls``."""
    return [
        httpx.get(f"{urls[n % len(urls)]}/api/search", params={"q": "腰痛"}).status_code
        for n in range(count)
    ]


def test_the_search_limit_counts_every_worker_of_a_server_together(tmp_path, seed_file):
    run_cli("ingest", str(seed_file), home=tmp_path / "home")
    server = LiveServer(tmp_path / "home", workers=2, LANGZHONG_RATE_LIMIT="5")
    try:
        statuses = _statuses([server.url], 9)
    finally:
        server.stop()
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}


def test_the_search_limit_counts_every_server_on_a_shared_store_together(tmp_path, postgres_url):
    _decline_demo(postgres_url)
    env = {"LANGZHONG_STORE_URL": postgres_url, "LANGZHONG_RATE_LIMIT": "3"}
    one = LiveServer(tmp_path / "one", **env)
    two = LiveServer(tmp_path / "two", **env)
    try:
        statuses = _statuses([one.url, two.url], 6)
        seen = _scrape(two.url)  # the store's figures read from PostgreSQL
    finally:
        one.stop()
        two.stop()
    assert statuses[:3] == [200] * 3 and set(statuses[3:]) == {429}
    assert seen["langzhong_index_lag{}"] == 0 and seen["langzhong_articles{}"] == 0
    assert seen["langzhong_requests_total{route=/api/search,status=429}"] == 2  # two's share
