"""Pages a patient can trust and act on (issue 15): who says it and when, section anchors, the
best answer first, when to see a doctor, related questions, feedback, reading comfort."""

import json
import re
import sqlite3

import httpx
import pytest
from conftest import run_cli

from langzhong.config import Settings
from langzhong.core import Article, Section
from langzhong.service import Service
from langzhong.store.schema import SCHEMA_VERSION
from langzhong.web.typography import display, marked

SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"


def _seed_id(server) -> str:
    answer = httpx.get(f"{server.url}/api/search", params={"q": SEED_TITLE}).json()
    return answer["hits"][0]["id"]


def test_results_have_a_heading_and_the_best_answer_first(demo_server):
    page = httpx.get(f"{demo_server.url}/search", params={"q": SEED_TITLE}).text
    assert f'<h1 class="results-title">「{SEED_TITLE}」的搜索结果</h1>' in page
    best = page.index('class="best"')
    assert best < page.index('class="hit"') and "这是因为" in page[best : best + 800]


def test_a_hit_links_to_its_section_and_the_article_has_that_anchor(demo_server):
    hit = httpx.get(
        f"{demo_server.url}/api/search", params={"q": f"{SEED_TITLE} 肌肉功能恢复异常"}
    ).json()["hits"][0]
    assert hit["anchor"] == "s4" and hit["section"].endswith("3、肌肉功能恢复异常")
    page = httpx.get(f"{demo_server.url}/search", params={"q": f"{SEED_TITLE} 肌肉功能恢复异常"})
    assert f"/article/{hit['id']}?q=" in page.text and '#s4">' in page.text
    article = httpx.get(f"{demo_server.url}/article/{hit['id']}").text
    assert re.search(r'<section class="level-2" id="s4">\s*<h3>3、肌肉功能恢复异常</h3>', article)


def test_an_article_page_shows_the_way_back_and_where_it_sits(demo_server):
    seed = _seed_id(demo_server)
    page = httpx.get(f"{demo_server.url}/article/{seed}", params={"q": "腰酸"}).text
    assert 'href="/search?q=%E8%85%B0%E9%85%B8">← 返回「腰酸」的搜索结果' in page
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', page, re.S).group(0)
    assert "首页" in crumbs and "脊柱外科" in crumbs and SEED_TITLE in crumbs


def test_when_to_see_a_doctor_fits_the_article_topic(demo_server):
    seed = httpx.get(f"{demo_server.url}/article/{_seed_id(demo_server)}").text
    box = "".join(re.findall(r'<aside class="when-to-see".*?</aside>', seed, re.S))
    levels = ("立即拨打 120", "今天就去医院", "可以先自我观察")
    for words in (*levels, "大小便失禁", "术后发烧", "NHS"):
        assert words in box
    assert 'href="tel:120"' in box
    other = httpx.get(f"{demo_server.url}/api/search", params={"q": "高血压患者能吃党参吗"})
    qa = httpx.get(f"{demo_server.url}/article/{other.json()['hits'][0]['id']}").text
    assert "什么时候需要就医" not in qa  # no signs that do not fit the topic


def test_a_question_page_is_labelled_honestly_and_leads_on(demo_server):
    hit = httpx.get(f"{demo_server.url}/api/search", params={"q": "糖尿病人能吃西瓜吗"}).json()[
        "hits"
    ][0]
    assert hit["kind"] == "qa"
    page = httpx.get(f"{demo_server.url}/article/{hit['id']}").text
    assert "研究数据集" in page and "机器改写" in page
    related = re.search(r'<aside class="related-reading related-questions".*?</aside>', page, re.S)
    links = re.findall(r'<a href="/article/([^"]+)">([^<]+)</a>', related.group(0))
    assert 3 <= len(links) <= 5 and hit["id"] not in [link for link, _ in links]
    assert all("糖尿病" in title for _, title in links)  # as confident as results: on its illness


def test_no_trust_is_claimed_that_the_corpus_cannot_back(demo_server):
    for path in ("/", f"/search?q={SEED_TITLE}", f"/search?q={SEED_TITLE}&all=1"):
        assert "可信" not in httpx.get(demo_server.url + path).text


def test_feedback_is_stored_counted_and_exported(demo_server, tmp_path):
    seed = _seed_id(demo_server)
    form = {"q": SEED_TITLE, "article": seed, "helpful": "yes", "next": f"/article/{seed}?q=腰酸"}
    sent = httpx.post(f"{demo_server.url}/feedback", data=form)
    assert sent.status_code == 303 and sent.headers["location"].endswith("feedback=1")
    assert "谢谢你的反馈" in httpx.get(demo_server.url + sent.headers["location"]).text
    no = {**form, "q": "腰痛", "helpful": "no", "next": "//x"}
    no = httpx.post(f"{demo_server.url}/feedback", data=no)
    assert no.headers["location"].startswith("/?")  # never off the site
    bad = httpx.post(f"{demo_server.url}/feedback", data={**form, "article": "nope"})
    assert bad.status_code == 422
    home = demo_server.home
    assert json.loads(run_cli("stats", "--json", home=home).stdout)["feedback"] >= 2
    out = tmp_path / "feedback.jsonl"
    run_cli("feedback", "export", str(out), home=home)
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert {"question": SEED_TITLE, "article": seed, "helpful": True} in [
        {k: r[k] for k in ("question", "article", "helpful")} for r in rows
    ]
    assert set(rows[0]) == {"question", "article", "helpful", "at"}  # nothing about the reader
    scored = json.loads(run_cli("feedback", "eval", "--from", str(out), home=home).stdout)
    assert scored["questions"] >= 1 and scored["ndcg@10"] > 0  # judgements for `eval`


def test_feedback_forms_work_without_javascript(demo_server):
    page = httpx.get(f"{demo_server.url}/search", params={"q": SEED_TITLE}).text
    form = re.search(
        r'<form class="feedback" method="post" action="/feedback">.*?</form>', page, re.S
    )
    assert 'name="helpful" value="yes"' in form.group(0) and 'name="article"' in form.group(0)


def test_who_says_it_and_when_is_kept_and_shown(tmp_path):
    data = tmp_path / "signed.jsonl"
    row = {
        "id": "signed-1",
        "title": "膝关节积液怎么办",
        "ask": "膝盖肿了有积液",
        "answer": "先休息冰敷，积液多时到骨科抽液检查。",
        "doctor": "李明 主任医师",
        "reviewed": "2024-05-01",
    }
    data.write_text(json.dumps(row, ensure_ascii=False) + "\n", "utf-8")
    home = tmp_path / "home"
    run_cli("ingest", str(data), home=home)
    shown = json.loads(run_cli("show", "signed-1", "--json", home=home).stdout)
    assert (shown["author"], shown["reviewed"]) == ("李明 主任医师", "2024-05-01")


def test_a_version_2_store_is_upgraded_and_keeps_its_hashes(tmp_path, seed_file):
    home = tmp_path / "home"
    service = Service(Settings.load(home))
    service.writing.ingest([seed_file])
    service.close()
    conn = sqlite3.connect(home / "langzhong.sqlite3")
    with conn:  # what a version 2 file looked like
        conn.execute("ALTER TABLE articles DROP COLUMN author")
        conn.execute("ALTER TABLE articles DROP COLUMN reviewed")
        conn.execute("DROP TABLE feedback")
        conn.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    conn.close()
    service = Service(Settings.load(home))
    try:
        assert service.writing.ingest([seed_file]).counts["duplicate"] == 2  # same hashes as before
        assert service.store.meta("schema_version") == str(SCHEMA_VERSION)
        assert service.admin.stats()["feedback"] == 0
    finally:
        service.close()


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("腰椎CT检查", "腰椎\u2009CT\u2009检查"),
        ("发烧39度", "发烧\u200939\u2009度"),
        ("在进行腰椎手术以后,部分的患者", "在进行腰椎手术以后，部分的患者"),
        ("注意:多喝水;别熬夜", "注意：多喝水；别熬夜"),
        ("BMI 24, OK", "BMI 24, OK"),
    ],
)
def test_chinese_typography_for_reading(stored, shown):
    assert display(stored) == shown


def test_static_files_are_cached_and_pages_compressed(demo_server):
    css = httpx.get(f"{demo_server.url}/static/style.css")
    assert "max-age" in css.headers["cache-control"]
    page = httpx.get(
        f"{demo_server.url}/search", params={"q": SEED_TITLE}, headers={"Accept-Encoding": "gzip"}
    )
    assert page.headers["content-encoding"] == "gzip"


def test_an_article_section_path_in_the_core_types():
    article = Article(
        id="x",
        title="t",
        lead="导语。",
        sections=(Section(heading="一、原因", level=1, text="第一段。\n第二段。"),),
    )
    assert article.paragraphs() == [
        (None, "导语。", None),
        ("一、原因", "第一段。", "s1"),
        ("一、原因", "第二段。", "s1"),
    ]


def test_highlights_are_set_for_reading_at_their_edges_too():
    text = "在进行腰椎手术以后,部分的腰椎CT检查"
    shown = str(marked(text, ((3, 9), (15, 17))))
    assert shown == "在进行<mark>腰椎手术以后</mark>，部分的腰椎\u2009<mark>CT</mark>\u2009检查"
