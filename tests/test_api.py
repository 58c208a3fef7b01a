"""The JSON API and pages over HTTP, against ``langzhong serve`` in its own process."""

import httpx
import pytest
from conftest import API_TOKEN, LiveServer, run_cli

SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def test_search_returns_hits_flags_department_and_abstention(demo_server):
    answer = httpx.get(f"{demo_server.url}/api/search", params={"q": SEED_TITLE}).json()
    assert set(answer) >= {"query", "hits", "red_flags", "department", "abstained"}
    top = answer["hits"][0]
    assert {"id", "title", "date", "source", "score", "section", "passage", "related"} <= set(top)
    assert (top["title"], top["source"], top["date"]) == (SEED_TITLE, "乡间郎中", "2020-07-14")
    assert (answer["red_flags"], answer["department"], answer["abstained"]) == (
        [],
        "脊柱外科",
        False,
    )


def test_red_flags_come_back_as_a_field(demo_server):
    answer = httpx.get(f"{demo_server.url}/api/search", params={"q": "手术后大小便失禁"}).json()
    (flag,) = answer["red_flags"]
    assert set(flag) >= {"id", "sign", "advice", "source"}
    assert flag["id"] == "bladder-bowel-control" and "120" in flag["advice"]
    assert answer["department"] == "急诊科"
    assert answer["emergency"] and answer["hits"] == []  # the notice comes first and alone


def test_off_topic_question_abstains(demo_server):
    answer = httpx.get(f"{demo_server.url}/api/search", params={"q": "怎么做蛋糕"}).json()
    assert (answer["abstained"], answer["hits"]) == (True, [])


def test_bad_queries_get_a_4xx_not_a_500(demo_server):
    url = f"{demo_server.url}/api/search"
    assert httpx.get(url, params={"q": ""}).status_code == 422
    assert httpx.get(url, params={"q": "腰" * 2_000}).status_code == 422
    assert httpx.get(url, params={"q": "腰痛", "page": 0}).status_code == 422
    for q in [
        '"',
        "*",
        "NEAR(腰 痛)",
        "腰痛 AND",
        "-",
        "title:腰",
        "((",
        "'; DROP TABLE articles;--",
    ]:
        assert httpx.get(url, params={"q": q}).status_code == 200


def test_article_by_id_and_unknown_id(demo_server):
    top = httpx.get(f"{demo_server.url}/api/search", params={"q": SEED_TITLE}).json()["hits"][0]
    article = httpx.get(f"{demo_server.url}/api/articles/{top['id']}").json()
    assert article["title"] == SEED_TITLE and len(article["sections"]) == 5
    assert httpx.get(f"{demo_server.url}/api/articles/nope").status_code == 404


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "x"}])
def test_writes_refuse_a_missing_or_wrong_token(demo_server, headers):
    body = {"title": "未授权文章", "lead": "不应被保存。"}
    url = f"{demo_server.url}/api/articles"
    assert httpx.post(url, json=body, headers=headers).status_code == 401
    assert httpx.put(f"{url}/x", json=body, headers=headers).status_code == 401
    assert httpx.delete(f"{url}/x", headers=headers).status_code == 401
    assert (
        httpx.get(f"{demo_server.url}/api/search", params={"q": "未授权文章"}).json()["hits"] == []
    )


def test_operator_creates_replaces_and_deletes_an_article(demo_server):
    url = f"{demo_server.url}/api/articles"
    body = {"title": "颈椎病怎么锻炼", "source": "测试站", "lead": "颈椎病患者可以做米字操。"}
    created = httpx.post(url, json=body, headers=AUTH)
    assert created.status_code == 201
    article_id = created.json()["id"]
    hit = httpx.get(f"{demo_server.url}/api/search", params={"q": "颈椎病 米字操"}).json()["hits"][
        0
    ]
    assert hit["id"] == article_id
    body["lead"] = "颈椎病患者可以做游泳和米字操锻炼。"
    assert httpx.put(f"{url}/{article_id}", json=body, headers=AUTH).json()["lead"] == body["lead"]
    assert httpx.delete(f"{url}/{article_id}", headers=AUTH).status_code == 204
    assert httpx.get(f"{url}/{article_id}").status_code == 404
    assert httpx.delete(f"{url}/{article_id}", headers=AUTH).status_code == 404


def test_crawled_script_never_reaches_a_page_unescaped(demo_server):
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    body = {"title": f"腰痛偏方{evil}", "source": "坏网站", "lead": f"腰痛可以热敷。{evil}"}
    created = httpx.post(f"{demo_server.url}/api/articles", json=body, headers=AUTH).json()
    pages = [
        httpx.get(f"{demo_server.url}/article/{created['id']}").text,
        httpx.get(f"{demo_server.url}/search", params={"q": "腰痛偏方 热敷"}).text,
    ]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert" in page
    httpx.delete(f"{demo_server.url}/api/articles/{created['id']}", headers=AUTH)


def test_health_docs_and_security_headers(demo_server):
    health = httpx.get(f"{demo_server.url}/healthz")
    assert health.json()["status"] == "ok" and health.json()["indexed_documents"] > 6000
    docs = httpx.get(f"{demo_server.url}/docs").text  # the reference, rendered on the server
    for operation in ("GET</span> <code>/api/search", "PUT</span> <code>/api/articles/{"):
        assert operation in docs
    swagger = httpx.get(f"{demo_server.url}/docs/try").text  # Swagger UI, to try requests
    assert "/docs-assets/swagger-ui-bundle.js" in swagger and "cdn" not in swagger.lower()
    assert httpx.get(f"{demo_server.url}/docs-assets/swagger-ui-bundle.js").status_code == 200
    spec = httpx.get(f"{demo_server.url}/openapi.json").json()
    assert {"/api/search", "/api/articles", "/api/articles/{article_id}", "/healthz"} <= set(
        spec["paths"]
    )
    page = httpx.get(f"{demo_server.url}/")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_without_a_configured_token_writes_are_disabled(tmp_path, seed_file):
    home = tmp_path / "home"
    run_cli("ingest", str(seed_file), home=home)
    server = LiveServer(home, token=None)
    try:
        response = httpx.post(
            f"{server.url}/api/articles", json={"title": "t", "lead": "x"}, headers=AUTH
        )
        assert response.status_code == 403
        assert "LANGZHONG_API_TOKEN" in response.json()["detail"]
    finally:
        server.stop()
