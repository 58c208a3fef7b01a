"""Hostile input, crashes, concurrency, limits and backups: nothing stored is ever lost."""

import gzip
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest
from conftest import API_TOKEN, LiveServer, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langzhong.benchmark.http import process_tree
from langzhong.config import Settings
from langzhong.index import TantivyIndex
from langzhong.ingest.pages import NotAPage, parse_page
from langzhong.service import Service
from langzhong.text import default_analyzer

HOSTILE = [
    '"',
    "*",
    "NEAR(腰 痛)",
    "腰痛 AND 头痛",
    "-腰痛",
    "title:腰",
    "((",
    ")",
    "腰痛' OR '1'='1",
    "'; DROP TABLE articles;--",
    "😀🩺💊",
    "\x00\x01\x1b[31m",
    "腰痛\u202e反向",
    "Ｒｅｄ 腰痛 ＡＮＤ",
    "腰" * 10_000,
    "",
    " ",
    "\n\t",
    "🙂" * 300,
    "SELECT * FROM fts",
    "^腰痛$",
    "{}[]<>",
]


def _qa_rows(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    words = [
        "腰痛",
        "头痛",
        "腹泻",
        "发烧",
        "咳嗽",
        "失眠",
        "胃胀",
        "高血压",
        "糖尿病",
        "便秘",
        "手术",
        "休息",
        "饮食",
        "药物",
    ]
    return [
        {
            "id": f"row-{i:05d}",
            "department": "普通内科",
            "title": f"第{i}个问题：{rng.choice(words)}怎么办",
            "ask": "".join(rng.choices(words, k=8)),
            "answer": f"第{i}个回答：" + "，".join(rng.choices(words, k=20)) + "。",
        }
        for i in range(n)
    ]


def _write_jsonl(path, rows) -> None:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")


def _store_state(home) -> tuple[str, list[str], int]:
    conn = sqlite3.connect(home / "langzhong.sqlite3")
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='articles'").fetchone():
            return check, [], 0  # killed between creating the file and committing its schema
        ids = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY rowid")]
        sections = conn.execute("SELECT count(*) FROM sections").fetchone()[0]
        return check, ids, sections
    finally:
        conn.close()


def _descendants(pid: int) -> list[int]:
    return process_tree(pid)[1:]


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited orphan this container's init has not reaped yet)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def _wait_until_gone(pids: list[int], seconds: float = 10) -> None:
    """Helper processes must not outlive a killed parent (each holds memory for nothing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if _running(pid)]
        if not alive:
            return
        time.sleep(0.2)
    raise AssertionError(f"processes {alive} outlived their killed parent")


def _index_after_reopening(home, last_title: str | None) -> tuple[int, bool]:
    """Documents in the index once a new process has opened the store, and whether the last
    stored article is found by its title."""
    from langzhong.config import Settings
    from langzhong.service import Service

    service = Service(Settings.load(home))
    try:
        service.catch_up()
        found = last_title is None or any(
            hit.title == last_title
            for hit in service.asking.ask(last_title, page_size=100, everything=True).hits
        )
        return service.index.doc_count(), found
    finally:
        service.close()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_terms_without_error(text):
    terms = default_analyzer().terms(text)
    assert all(term.strip() for term in terms)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_page_parser_gives_titled_articles_or_a_reason(text):
    try:
        articles = parse_page(text)
    except NotAPage as error:
        assert str(error)
        return
    for article in articles:
        assert article.title.strip() and (article.lead or article.sections)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=200))
def test_any_query_gets_an_answer(service_with_seed, text):
    answer = service_with_seed.asking.ask(text)
    assert answer.query == text


@pytest.fixture
def service_with_seed(service, seed_file):
    service.writing.ingest([seed_file])
    return service


def test_hostile_queries_over_http_get_200_or_4xx(demo_server):
    # http.client sends any URL as it is (httpx refuses ones this long), so the server answers
    connection = http.client.HTTPConnection("127.0.0.1", demo_server.port, timeout=30)
    for query in HOSTILE:
        for path in ("/api/search", "/search"):
            connection.request("GET", f"{path}?{urllib.parse.urlencode({'q': query})}")
            response = connection.getresponse()
            body = response.read()
            assert 200 <= response.status < 500, (path, query[:20], response.status)
            assert b"Traceback" not in body
            if response.status >= 400:
                connection.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=1, max_size=100))
def test_api_property_any_query_no_server_error(demo_server, text):
    response = httpx.get(demo_server.url + "/api/search", params={"q": text})
    assert response.status_code < 500


def test_cli_answers_or_exits_2_never_a_traceback(tmp_path, seed_file):
    home = tmp_path / "home"
    run_cli("ingest", str(seed_file), home=home)
    for query in ['"', "NEAR(", "'; DROP TABLE articles;--", "😀", "腰" * 10_000, " "]:
        done = run_cli("ask", query, "--json", home=home, check=False)
        assert done.returncode in (0, 2) and "Traceback" not in done.stderr
        if done.returncode == 0:
            assert json.loads(done.stdout)["query"] == query


def test_export_import_round_trips_exactly(tmp_path, seed_file):
    rows = tmp_path / "rows.jsonl"
    _write_jsonl(rows, _qa_rows(50))
    first, second = tmp_path / "a", tmp_path / "b"
    run_cli("ingest", str(seed_file), str(rows), home=first)
    run_cli("export", str(tmp_path / "backup.jsonl.gz"), home=first)
    run_cli("import", str(tmp_path / "backup.jsonl.gz"), home=second)
    run_cli("export", str(tmp_path / "again.jsonl"), home=second)
    with gzip.open(tmp_path / "backup.jsonl.gz", "rt", encoding="utf-8") as exported:
        assert exported.read() == (tmp_path / "again.jsonl").read_text("utf-8")
    assert len((tmp_path / "again.jsonl").read_text("utf-8").splitlines()) == 52


def _vectors(home: Path) -> dict[str, tuple[bytes, float]]:
    """Article id → the int8 codes and scale of its current e5 vector."""
    conn = sqlite3.connect(home / "langzhong.sqlite3")
    try:
        rows = conn.execute(
            "SELECT a.id, v.codes, v.scale FROM vectors v JOIN articles a"
            " ON a.rowid = v.article AND v.content_hash = a.content_hash"
        )
        return {article_id: (codes, scale) for article_id, codes, scale in rows}
    finally:
        conn.close()


def _exported_home(tmp_path: Path, seed_file: Path) -> tuple[Path, Path]:
    """A home of the seed page and 30 questions, all with their vectors, and its export."""
    rows = tmp_path / "rows.jsonl"
    _write_jsonl(rows, _qa_rows(30))
    home, backup = tmp_path / "a", tmp_path / "backup.jsonl"
    run_cli("ingest", str(seed_file), str(rows), home=home)
    run_cli("export", str(backup), home=home)
    return home, backup


def test_import_carries_the_e5_vectors_and_embeds_none_again(tmp_path, seed_file, monkeypatch):
    first, backup = _exported_home(tmp_path, seed_file)
    service = Service(Settings.load(tmp_path / "b"))
    embedded: list[str] = []
    embed = service.embedder.embed_passages
    monkeypatch.setattr(
        service.embedder, "embed_passages", lambda texts: embedded.extend(texts) or embed(texts)
    )
    try:
        service.writing.restore(backup)
        counts = service.vectors.counts()
    finally:
        service.close()
    assert embedded == [] and counts == {"with_vector": 32, "pending": 0}
    assert _vectors(tmp_path / "b") == _vectors(first)


def test_vectors_of_other_weights_are_embedded_again_and_import_says_so(tmp_path, seed_file):
    first, backup = _exported_home(tmp_path, seed_file)
    lines = [json.loads(line) for line in backup.read_text("utf-8").splitlines()]
    for line in lines[:10]:
        line["vector"]["model"] = "0123456789abcdef"  # made by other weights
    _write_jsonl(backup, lines)
    done = run_cli("import", str(backup), home=tmp_path / "b")
    assert "22 e5 vectors carried" in done.stderr
    assert (
        "10 left out (made by other e5 weights, or for other text): embedded again" in done.stderr
    )
    assert _vectors(tmp_path / "b") == _vectors(first)  # the same weights make the same vectors


def test_ingest_killed_at_random_points_loses_nothing_committed(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "LANGZHONG_DENSE", "off"
    )  # the store and the index under load; vectors: test_dense
    rows = _qa_rows(6000)
    data = tmp_path / "rows.jsonl"
    _write_jsonl(data, rows)
    order = [r["id"] for r in rows]
    titles = {r["id"]: r["title"] for r in rows}
    home = tmp_path / "home"
    env = {**os.environ, "LANGZHONG_HOME": str(home)}
    rng = random.Random(11)
    stored_before: list[str] = []
    for _ in range(20):
        process = subprocess.Popen(
            [sys.executable, "-m", "langzhong", "ingest", str(data)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.8, 3.0))
        helpers = _descendants(process.pid)  # e.g. its segmenting processes
        process.send_signal(signal.SIGKILL)
        process.wait()
        _wait_until_gone(helpers)
        if not (home / "langzhong.sqlite3").exists():
            continue
        check, ids, sections = _store_state(home)
        assert check == "ok"
        assert len(ids) == sections  # every article whole
        assert ids == order[: len(ids)]  # whole batches in input order: a prefix of the input
        assert ids[: len(stored_before)] == stored_before  # nothing committed was lost
        # The index may lag behind the store at the kill; the next process catches it up.
        last_title = titles[ids[-1]] if ids else None
        assert _index_after_reopening(home, last_title) == (len(ids), True)
        stored_before = ids
    done = run_cli("ingest", str(data), home=home)
    assert "0 rejected" in done.stderr
    check, ids, _ = _store_state(home)
    assert (check, ids) == ("ok", order)
    assert _index_after_reopening(home, titles[order[-1]]) == (len(order), True)


def test_searches_answer_while_a_big_ingest_runs(tmp_path, seed_file, monkeypatch):
    monkeypatch.setenv(
        "LANGZHONG_DENSE", "off"
    )  # the store and the index under load; vectors: test_dense
    home = tmp_path / "home"
    run_cli("ingest", str(seed_file), home=home)
    data = tmp_path / "rows.jsonl"
    _write_jsonl(data, _qa_rows(10_000))
    from langzhong.config import Settings
    from langzhong.service import Service

    reader = Service(Settings.load(home))
    process = subprocess.Popen(
        [sys.executable, "-m", "langzhong", "ingest", str(data)],
        env={**os.environ, "LANGZHONG_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    searches = 0
    while process.poll() is None:
        top = reader.asking.ask("微创手术后腰酸是怎么回事").hits[0]
        assert top.title == "腰椎微创手术后腰酸痛是怎么回事"
        searches += 1
    assert process.returncode == 0, process.stderr.read()
    assert searches > 10
    assert reader.admin.stats()["articles"] == 2 + 10_000
    reader.close()


def test_two_ingests_at_once_serialise(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "LANGZHONG_DENSE", "off"
    )  # the store and the index under load; vectors: test_dense
    home = tmp_path / "home"
    parts = []
    for name, rows in (("a", _qa_rows(3000, seed=1)), ("b", _qa_rows(3000, seed=2))):
        path = tmp_path / f"{name}.jsonl"
        _write_jsonl(path, [dict(r, id=f"{name}-{r['id']}") for r in rows])
        parts.append(path)
    env = {**os.environ, "LANGZHONG_HOME": str(home)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "langzhong", "ingest", str(p)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in parts
    ]
    for process in processes:
        process.wait(timeout=300)
        assert process.returncode == 0, process.stderr.read()
    check, ids, _ = _store_state(home)
    # Whichever process held the index last applied the other's changes too: no catch-up here.
    index = TantivyIndex(home / "index")
    indexed = index.doc_count()
    index.close()
    assert (check, len(ids), indexed) == ("ok", 6000, 6000)


def test_search_rate_limit_and_body_limit(tmp_path, seed_file):
    home = tmp_path / "home"
    run_cli("ingest", str(seed_file), home=home)
    server = LiveServer(
        home, token=API_TOKEN, workers=1, LANGZHONG_RATE_LIMIT="5", LANGZHONG_MAX_BODY_KB="4"
    )
    try:
        statuses = [
            httpx.get(server.url + "/api/search", params={"q": "腰痛"}).status_code
            for _ in range(8)
        ]
        assert statuses[:5] == [200] * 5 and statuses[-1] == 429
        assert httpx.get(server.url + "/healthz").status_code == 200  # only searches are limited
        big = {"title": "大文章", "lead": "字" * 10_000}
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        assert (
            httpx.post(server.url + "/api/articles", json=big, headers=headers).status_code == 413
        )
        log = server.log.read_text()
    finally:
        server.stop()
    assert API_TOKEN not in log


@pytest.mark.parametrize("generator", ["wrk", "python threads"])
def test_load_script_runs_bounded_and_reports(tmp_path, seed_file, generator):
    if generator == "wrk" and not shutil.which("wrk"):
        pytest.skip("wrk is not installed (scripts/test installs it when run as root)")
    home = tmp_path / "home"
    run_cli("ingest", str(seed_file), home=home)
    out = tmp_path / "load.json"
    choice = ["--python-load"] if generator == "python threads" else []
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "langzhong.benchmark.http",
            "--seconds",
            "3",
            "--concurrency",
            "4",
            "--home",
            str(home),
            "--json",
            str(out),
            *choice,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["generator"] == generator
    assert result["errors"] == 0 and result["requests"] > 10
    assert result["rss_mb_at_end"] > 0 and result["server_processes"] >= 1


def test_server_workers_end_with_their_supervisor_even_when_it_is_killed(tmp_path, seed_file):
    home = tmp_path / "home"
    run_cli("ingest", str(seed_file), home=home)
    server = LiveServer(home, workers=2)
    workers = _descendants(server.process.pid)
    assert len(workers) >= 2
    for _ in range(20):  # every request answered, whichever worker takes the connection
        assert httpx.get(server.url + "/api/search", params={"q": "腰酸"}).status_code == 200
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    _wait_until_gone(workers)
    with socket.socket() as sock:  # the port is free again: nothing serves on alone
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", server.port))


def _workers_of(supervisor: int) -> set[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    found = set()
    for pid in _descendants(supervisor):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in command and _running(pid):
            found.add(pid)
    return found


@pytest.mark.parametrize("ending", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "exited"])
def test_a_worker_that_dies_is_logged_and_replaced(tmp_path, seed_file, ending):
    home = tmp_path / "home"
    run_cli("ingest", str(seed_file), home=home)
    server = LiveServer(home, workers=2)
    try:
        before = _workers_of(server.process.pid)
        assert len(before) == 2
        victim = min(before)
        os.kill(victim, ending)  # SIGTERM: the worker shuts down cleanly, as if on its own
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = _workers_of(server.process.pid)
            if len(now) == 2 and victim not in now and "restarted" in server.log.read_text():
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"no replacement worker: {server.log.read_text()}")
        for _ in range(20):  # both workers answer, whichever takes the connection
            assert httpx.get(server.url + "/api/search", params={"q": "腰酸"}).status_code == 200
        assert f"(pid {victim}) exited with code {-ending}" in server.log.read_text()
    finally:
        server.stop()


@pytest.mark.parametrize("proxies", [None, "127.0.0.1"], ids=["no proxy", "trusted proxy"])
def test_forwarded_for_counts_only_from_a_configured_proxy(tmp_path, seed_file, proxies):
    home = tmp_path / "home"
    run_cli("ingest", str(seed_file), home=home)
    args = ("--forwarded-allow-ips", proxies) if proxies else ()
    server = LiveServer(home, workers=1, args=args, LANGZHONG_RATE_LIMIT="3")
    try:
        statuses = [
            httpx.get(
                server.url + "/api/search",
                params={"q": "腰痛"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(6)
        ]
    finally:
        server.stop()
    if proxies:  # each forwarded client has its own allowance
        assert statuses == [200] * 6
    else:  # one client, whatever the header claims
        assert statuses[:3] == [200] * 3 and statuses[3:] == [429] * 3
