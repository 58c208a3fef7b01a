"""What a hostile probe of the API and pages found (issue 12): no 500 from any input, the token
before the body, ids and addresses validated, errors as pages for people, nothing framed."""

import asyncio
import http.client
import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from conftest import API_TOKEN, LiveServer, run_cli

from langzhong.config import Settings
from langzhong.index import IndexUnavailable
from langzhong.service import Service
from langzhong.store import StoreUnavailable
from langzhong.web.app import create_app

AUTH = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
HEADERS = ("x-content-type-options", "x-frame-options", "content-security-policy")
SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"


def _has_security_headers(response: httpx.Response) -> bool:
    return all(name in response.headers for name in HEADERS)


def _in_process(service: Service, method: str, path: str, **kwargs) -> httpx.Response:
    """One request to the app in this process (errors answered, not raised)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(create_app(service), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(send())


@pytest.mark.parametrize(
    "body",
    [
        '{"title": "t", "lead": "x\\udc00y"}',
        '{"title": "\\udc00", "lead": 5, "\\udc01": 1}',
        '{"title": "t", "lead": "x", "sections": [{"heading": "\\ud800", "level": 1}]}',
    ],
)
def test_lone_surrogates_are_refused_with_a_422_never_a_500(demo_server, body):
    response = httpx.post(f"{demo_server.url}/api/articles", content=body, headers=AUTH)
    assert response.status_code == 422 and _has_security_headers(response)
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_an_unexpected_failure_is_a_500_with_headers_and_no_traceback(tmp_path):
    service = Service(Settings.load(tmp_path / "home"))
    try:

        def broken(*args, **kwargs):
            raise RuntimeError("secret internals")

        service.asking.ask = broken
        api = _in_process(service, "GET", "/api/search", params={"q": "腰痛"})
        page = _in_process(service, "GET", "/search", params={"q": "腰痛"})
    finally:
        service.close()
    assert (api.status_code, api.json()) == (500, {"detail": "internal error"})
    assert page.status_code == 500 and "出错了" in page.text and 'class="error"' in page.text
    for response in (api, page):
        assert _has_security_headers(response) and "secret internals" not in response.text


def test_a_chunked_body_over_the_limit_is_413_and_a_small_one_is_read(demo_server):
    url = f"{demo_server.url}/api/articles"

    def chunks(total: int):  # a generator: httpx sends it chunked, with no length
        body = json.dumps({"title": "分块上传", "lead": "字" * (total // 3)}).encode()
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    assert httpx.post(url, content=chunks(3 << 20), headers=AUTH).status_code == 413
    small = httpx.post(url, content=chunks(300), headers=AUTH)
    assert small.status_code == 201
    httpx.delete(f"{url}/{small.json()['id']}", headers=AUTH)


def test_the_token_is_checked_before_the_body_is_read(demo_server):
    url = f"{demo_server.url}/api/articles"
    not_json = {"Content-Type": "application/json"}
    assert httpx.post(url, content="{not json", headers=not_json).status_code == 401
    assert httpx.post(url, content="{not json", headers=AUTH).status_code in (400, 422)
    # 50 MB announced, two bytes sent: the refusal comes without waiting for the rest.
    where = urlsplit(demo_server.url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    connection.putrequest("POST", "/api/articles")
    connection.putheader("Content-Length", str(50 << 20))
    connection.endheaders(b"{}")
    assert connection.getresponse().status == 401
    connection.close()


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (API_TOKEN, 401),  # no scheme
        (f"Basic {API_TOKEN}", 401),
        ("Bearer", 401),
        (f"bearer {API_TOKEN}", 201),
        (f"BEARER   {API_TOKEN}", 201),
    ],
)
def test_writes_need_the_bearer_scheme_in_any_case(demo_server, authorization, status):
    url = f"{demo_server.url}/api/articles"
    body = {"title": f"认证方式{status}{len(authorization)}", "lead": "测试认证。"}
    response = httpx.post(url, json=body, headers={"Authorization": authorization})
    assert response.status_code == status
    if status == 201:
        httpx.delete(f"{url}/{response.json()['id']}", headers=AUTH)


def test_a_blank_token_setting_turns_writes_off_and_stats_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("LANGZHONG_API_TOKEN", "   ")
    home = tmp_path / "home"
    stats = json.loads(run_cli("stats", "--json", home=home).stdout)
    assert stats["settings"]["api_token"] == "not set (write API disabled)"
    service = Service(Settings.load(home))
    try:
        response = _in_process(
            service, "POST", "/api/articles", json={"title": "t", "lead": "x"}, headers=AUTH
        )
    finally:
        service.close()
    assert response.status_code == 403


def test_put_stores_under_the_path_id_or_refuses_with_409(demo_server):
    url = f"{demo_server.url}/api/articles"
    body = {"title": "膝盖疼爬楼梯", "source": "测试站", "lead": "膝盖疼的人少爬楼梯。"}
    first = httpx.post(url, json=body, headers=AUTH).json()["id"]
    same = httpx.put(f"{url}/my-new-id", json=body, headers=AUTH)
    assert same.status_code == 409 and first in same.json()["detail"]
    assert httpx.get(f"{url}/my-new-id").status_code == 404
    changed = {**body, "lead": "膝盖疼的人少爬楼梯，多游泳。"}
    created = httpx.put(f"{url}/my-new-id", json=changed, headers=AUTH)
    assert created.status_code == 201 and created.json()["id"] == "my-new-id"
    assert httpx.get(f"{url}/my-new-id").json()["lead"] == changed["lead"]
    again = {**changed, "lead": "膝盖疼的人少爬楼梯，多游泳，多骑车。"}
    replaced = httpx.put(f"{url}/my-new-id", json=again, headers=AUTH)
    assert replaced.status_code == 200 and replaced.json()["lead"] == again["lead"]
    for article_id in (first, "my-new-id"):
        assert httpx.delete(f"{url}/{article_id}", headers=AUTH).status_code == 204


@pytest.mark.parametrize(
    "change",
    [
        {"url": "javascript:alert(1)"},
        {"url": "//evil.example/x"},
        {"url": "/\\evil.example/x"},  # browsers read /\ as //: another site
        {"url": "/article/x"},  # an article's address is absolute or absent
        {"url": "data:text/html,<script>alert(1)</script>"},
        {"related": [{"title": "坏链接", "id": "../../etc/passwd"}]},
        {"related": [{"title": "坏链接", "id": 'x" onmouseover="alert(1)'}]},
    ],
)
def test_addresses_and_related_ids_are_validated(demo_server, change):
    body = {"title": "校验地址", "lead": "内容。", **change}
    response = httpx.post(f"{demo_server.url}/api/articles", json=body, headers=AUTH)
    assert response.status_code == 422


@pytest.mark.parametrize("article_id", ["a b", "x" * 129, "中文", ".hidden"])
def test_article_ids_are_validated(demo_server, article_id):
    url = f"{demo_server.url}/api/articles/{article_id}"
    assert httpx.put(url, json={"title": "t", "lead": "x"}, headers=AUTH).status_code == 422


def test_good_addresses_are_kept(demo_server):
    url = f"{demo_server.url}/api/articles"
    body = {"title": "地址正常", "lead": "内容。", "url": "https://example.org/a?b=1"}
    created = httpx.post(url, json=body, headers=AUTH).json()
    assert created["url"] == body["url"]
    httpx.delete(f"{url}/{created['id']}", headers=AUTH)


@pytest.mark.parametrize(
    "path", ["/", "/search?q=腰痛", "/docs", "/docs/try", "/article/nope", "/api/x"]
)
def test_no_page_can_be_framed(demo_server, path):
    response = httpx.get(demo_server.url + path)
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_swagger_page_runs_no_inline_script(demo_server):
    response = httpx.get(f"{demo_server.url}/docs/try")
    assert (
        "'unsafe-inline'"
        not in response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    )
    assert "<script>" not in response.text and '<script src="/static/docs.js">' in response.text
    assert httpx.get(f"{demo_server.url}/static/docs.js").status_code == 200


def test_no_redirect_is_built_from_the_host_header(demo_server):
    for path in ("/search/", "/article/", "/api/search/"):
        response = httpx.get(demo_server.url + path, headers={"Host": "evil.example"})
        assert "evil.example" not in response.headers.get("location", "")


def test_pages_answer_errors_with_a_page_and_the_api_with_json(demo_server):
    missing = httpx.get(f"{demo_server.url}/article/nope")
    invalid = httpx.get(f"{demo_server.url}/search", params={"q": "腰痛", "page": 0})
    unknown = httpx.get(f"{demo_server.url}/no-such-page")
    for response, status in ((missing, 404), (invalid, 422), (unknown, 404)):
        assert response.status_code == status
        assert response.headers["content-type"].startswith("text/html")
        assert 'class="error"' in response.text and 'href="/"' in response.text
    api = httpx.get(f"{demo_server.url}/api/articles/nope")
    assert api.status_code == 404 and "detail" in api.json()


def test_a_page_past_the_last_goes_to_the_last(demo_server):
    response = httpx.get(f"{demo_server.url}/search", params={"q": SEED_TITLE, "page": 50})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/search?") and "page=50" not in location
    landed = httpx.get(demo_server.url + location)
    assert landed.status_code == 200 and SEED_TITLE in landed.text


def test_without_a_token_the_server_refuses_writes_before_reading(tmp_path, seed_file):
    home = tmp_path / "home"
    run_cli("ingest", str(seed_file), home=home)
    server = LiveServer(home, token=None)
    try:
        response = httpx.post(f"{server.url}/api/articles", content="{not json")
    finally:
        server.stop()
    assert response.status_code == 403 and _has_security_headers(response)


def _feedback_questions(home: Path) -> list[str]:
    with closing(sqlite3.connect(home / "langzhong.sqlite3")) as conn:
        return [question for (question,) in conn.execute("SELECT question FROM feedback")]


FORGED = (
    {"Origin": "https://evil.example"},
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another site's page too
    {"Origin": "null"},  # a sandboxed frame or a data: page
)


def test_only_form_posts_from_the_site_itself_are_stored(demo_server):
    seed = httpx.get(f"{demo_server.url}/api/search", params={"q": SEED_TITLE}).json()["hits"][0]
    for n, headers in enumerate(FORGED):
        form = urlencode({"q": f"跨站伪造{n}", "article": seed["id"], "helpful": "no"})
        sent = httpx.post(
            f"{demo_server.url}/feedback",
            content=form,
            headers={"Content-Type": "text/plain", **headers},  # what any site's form can send
        )
        assert sent.status_code == 403 and 'class="error"' in sent.text, headers
        assert _has_security_headers(sent)
    browser = {"Origin": demo_server.url, "Sec-Fetch-Site": "same-origin"}
    old_browser = {"Origin": demo_server.url}  # Origin, no Sec-Fetch-Site
    for headers in (browser, old_browser, {}):  # {}: not a browser (curl), so nothing forged
        form = {"q": "同站反馈", "article": seed["id"], "helpful": "yes"}
        sent = httpx.post(f"{demo_server.url}/feedback", data=form, headers=headers)
        assert sent.status_code == 303, headers
    stored = _feedback_questions(demo_server.home)
    assert stored.count("同站反馈") == 3 and not any(q.startswith("跨站伪造") for q in stored)


def test_a_lost_store_or_index_is_named_never_its_address(tmp_path, caplog):
    store_at = "postgresql://langzhong@10.9.8.7:5432/articles"
    index_at = "http://10.9.8.6:19530"

    def lost_store(*args, **kwargs):
        raise StoreUnavailable(f"{store_at}: connection refused")

    def lost_index(*args, **kwargs):
        raise IndexUnavailable(f"Milvus at {index_at}: timed out")

    service = Service(Settings.load(tmp_path / "home"))
    try:
        service.asking.ask = lost_store
        store_api = _in_process(service, "GET", "/api/search", params={"q": "腰痛"})
        store_page = _in_process(service, "GET", "/search", params={"q": "腰痛"})
        service.asking.ask = lost_index
        index_api = _in_process(service, "GET", "/api/search", params={"q": "腰痛"})
        service.store.ping, service.index.checkpoint = lost_store, lost_index
        health = _in_process(service, "GET", "/healthz")
    finally:
        service.close()
    assert store_api.status_code == 503 and "article store" in store_api.json()["detail"]
    assert index_api.status_code == 503 and "search index" in index_api.json()["detail"]
    assert store_page.status_code == 503 and "暂时无法访问" in store_page.text
    assert health.status_code == 503
    assert (health.json()["store"], health.json()["index"]) == ("down", "down")
    for response in (store_api, store_page, index_api, health):
        assert "10.9.8." not in response.text and "langzhong@" not in response.text
    assert store_at in caplog.text and index_at in caplog.text  # the operator's log says where


def test_the_api_page_post_example_works(demo_server):
    api_page = (Path(__file__).parents[1] / "docs" / "web.md").read_text("utf-8")
    example = re.search(r"curl [^\n]*/api/articles.*?-d '(\{.*?\})'", api_page, re.S)
    assert example, "docs/web.md has no POST /api/articles example"
    created = httpx.post(
        f"{demo_server.url}/api/articles", content=example.group(1).encode(), headers=AUTH
    )
    assert created.status_code == 201, created.text
    gone = httpx.delete(f"{demo_server.url}/api/articles/{created.json()['id']}", headers=AUTH)
    assert gone.status_code == 204
