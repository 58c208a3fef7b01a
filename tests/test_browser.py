"""The web site in real headless Chromium (Debian's), driven by Playwright."""

import shutil
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")
Axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"
RELATED_TITLE = "腰突然直不起来是怎么回事"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (scripts/test installs it as root)")
    ARTIFACTS.mkdir(exist_ok=True)  # screenshots, kept by CI
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_search_read_and_follow_related_reading(browser, demo_server, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(demo_server.url + "/")
    page.fill("input[name=q]", SEED_TITLE)
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(".hit")
    first = page.locator(".hit").first
    assert first.locator("h2").inner_text() == SEED_TITLE
    assert first.locator(".passage mark").count() >= 1
    assert "这是因为" in first.locator(".passage").inner_text()  # the lead gives the cause
    page.screenshot(path=ARTIFACTS / f"results-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll

    first.locator("h2 a").click()
    page.wait_for_selector("article h1")
    assert page.locator("article h1").inner_text() == SEED_TITLE
    headings = page.locator("article h2, article h3").all_inner_texts()
    assert headings[:2] == ["一、腰椎微创手术后腰酸痛的原因", "1、腰椎间盘的变化"]
    assert "相关阅读" in headings
    assert "脊柱外科" in page.locator(".department").inner_text()
    assert "免责声明" in page.locator("footer").inner_text()
    page.screenshot(path=ARTIFACTS / f"article-{width}.png", full_page=True)

    page.click(f".related-reading a:text('{RELATED_TITLE}')")
    page.wait_for_selector("article h1")
    assert page.locator("article h1").inner_text() == RELATED_TITLE
    page.close()


def test_chest_pain_in_everyday_words_gets_the_call_120_page_alone(browser, demo_server):
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.goto(demo_server.url + "/search?q=胸口像压了块石头，出冷汗")
    notice = page.locator(".urgent")
    assert "120" in notice.inner_text() and "心梗" in notice.inner_text()
    assert page.locator("a.call-120[href='tel:120']").first.is_visible()
    assert page.locator(".hit").count() == 0 and page.locator(".knowledge").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=ARTIFACTS / "emergency-chest-pain-360.png", full_page=True)
    page.close()


def test_a_child_fever_page_says_which_signs_mean_go_now(browser, demo_server):
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.goto(demo_server.url + "/search?q=孩子发烧39度怎么办")
    box = page.locator(".when-to-see").first
    assert "孩子发烧：什么时候需要就医" in box.locator("h2").inner_text()
    levels = box.locator("h3").all_inner_texts()
    assert levels == ["立即拨打 120 或去急诊", "今天就去医院", "可以先自我观察"]
    box.locator("details.sources summary").click()
    assert box.locator("details.sources a[href^='https://www.nhs.uk/']").count() >= 1
    hits = page.locator(".hit")  # the box comes before the list of answers
    assert hits.count() == 0 or hits.first.bounding_box()["y"] > box.bounding_box()["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=ARTIFACTS / "child-fever-guide-360.png", full_page=True)
    page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_urgent_notice_above_results(browser, demo_server, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(demo_server.url + "/search?q=手术后大小便失禁")
    notice = page.locator(".urgent")
    assert notice.is_visible()
    assert "大小便失禁" in notice.inner_text() and "120" in notice.inner_text()
    notice_top = notice.bounding_box()["y"]
    hits = page.locator(".hit")
    assert hits.count() == 0 or hits.first.bounding_box()["y"] > notice_top
    page.screenshot(path=ARTIFACTS / f"urgent-{width}.png", full_page=True)
    page.close()


def test_site_works_without_javascript(browser, demo_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(demo_server.url + "/")
    page.fill("input[name=q]", "腰突然直不起来")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(".hit")
    assert page.locator(".hit h2").first.inner_text() == RELATED_TITLE
    context.close()


def test_crisis_page_shows_help_lines_and_no_results(browser, demo_server):
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.goto(demo_server.url + "/search?q=我不想活了")
    crisis = page.locator(".crisis")
    assert crisis.is_visible() and "12356" in crisis.inner_text()
    assert "精神心理科" in crisis.inner_text()  # the door for the days after: no plan is said
    assert page.locator(".hit").count() == 0 and page.locator(".others").count() == 0
    hotline = page.locator("a[href='tel:12356']")
    assert hotline.bounding_box()["height"] >= 44
    assert page.locator("a[href='tel:120']").count() == 1
    page.screenshot(path=ARTIFACTS / "crisis-360.png", full_page=True)
    page.close()


def test_emergency_page_puts_a_call_button_first(browser, demo_server):
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.goto(demo_server.url + "/search?q=胸口疼得厉害喘不上气")
    button = page.locator(".urgent a.call-120[href='tel:120']")
    assert button.bounding_box()["height"] >= 44
    assert page.locator(".urgent .urgent").count() == 0  # one box, no boxes inside it
    assert "换个说法" not in page.locator("main").inner_text()
    assert page.locator(".hit, .abstain, .knowledge, .others").count() == 0  # first and alone
    assert "NHS" not in page.locator(".urgent .source").first.inner_text()[:3]
    page.close()


def test_child_fever_page_suggests_paediatrics(browser, demo_server):
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.goto(demo_server.url + "/search?q=小孩发烧39度怎么办")
    assert "儿科" in page.locator(".department").inner_text()
    assert "100 条以上" not in page.locator("main").inner_text()
    assert page.locator(".hit").count() <= 5
    page.screenshot(path=ARTIFACTS / "child-fever-360.png", full_page=True)
    page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_api_docs_render_under_their_content_policy(browser, demo_server, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else 0)
    page.goto(demo_server.url + "/docs/try")
    page.wait_for_selector(".opblock-summary-path")  # one row per API operation
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/search" in paths and "/api/articles/{article_id}" in paths
    assert refused == []
    page.screenshot(path=ARTIFACTS / f"swagger-{width}.png", full_page=True)
    page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_the_api_reference_lists_every_operation(browser, demo_server, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(demo_server.url + "/docs")
    listed = page.locator(".operation h2").all_inner_texts()
    for operation in ("GET /api/search", "POST /api/articles", "DELETE /api/articles/{article_id}"):
        assert operation in listed
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=ARTIFACTS / f"docs-{width}.png", full_page=True)
    page.close()


PAGES = {
    "home": "/",
    "docs": "/docs",
    "feedback": f"/search?q={SEED_TITLE}&feedback=1",
    "results": f"/search?q={SEED_TITLE}",
    "abstained": "/search?q=怎么做蛋糕",
    "everything": "/search?q=婴儿吐奶很频繁怎么办&all=1",  # the whole ranking: hits, no best answer
    "crisis": "/search?q=我不想活了",
    "emergency": "/search?q=手术后大小便失禁",
    "article": "/search?q=腰突然直不起来是怎么回事",  # then the first hit is opened
    "error": "/article/no-such-article",
    "knowledge": "/search?q=甲亢有什么症状",
    "entity": "/entity/甲状腺功能亢进症",
}


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("name", sorted(PAGES))
def test_no_accessibility_violations(browser, demo_server, name, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(demo_server.url + PAGES[name])
    if name == "article":
        page.locator(".hit h2 a").first.click()
        page.wait_for_selector("article h1")
    violations = Axe().run(page).response["violations"]
    found = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert found == []
    page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_best_answer_first_and_a_hit_opens_its_section(browser, demo_server, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(demo_server.url + "/search?q=做完腰椎的微创手术以后腰一直发酸，为什么会这样")
    best = page.locator(".best")
    assert best.locator("h2").inner_text() == "最佳回答"
    assert best.bounding_box()["y"] < page.locator(".hit").first.bounding_box()["y"]
    assert "这是因为" in best.locator(".passage").inner_text()
    page.screenshot(path=ARTIFACTS / f"best-answer-{width}.png", full_page=True)

    page.goto(demo_server.url + "/search?q=婴儿吐奶很频繁怎么办")  # nothing on it in the demo
    assert page.locator(".best").count() == 0 and page.locator(".hit").count() == 0
    assert "没有找到足够可靠的答案" in page.locator("main").inner_text()
    page.goto(demo_server.url + "/search?q=婴儿吐奶很频繁怎么办&all=1")  # asked for anyway
    assert page.locator(".best").count() == 0 and page.locator(".hit").count() >= 1
    assert "匹配度低的结果可能答非所问" in page.locator(".count").inner_text()

    page.goto(demo_server.url + f"/search?q={SEED_TITLE} 肌肉功能恢复")
    path = page.locator(".hit .section-path a").first
    assert path.get_attribute("href").split("#")[1].startswith("s")
    section_path = path.inner_text()
    path.click()
    page.wait_for_selector("section:target")
    target = page.locator("section:target")
    assert target.locator("h2, h3, h4").first.inner_text() in section_path
    assert target.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    back = page.locator(".back a")
    assert "返回" in back.inner_text() and "/search?q=" in back.get_attribute("href")
    assert page.locator(".crumbs").inner_text().startswith("首页")
    page.screenshot(path=ARTIFACTS / f"article-at-section-{width}.png")
    page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_an_error_page_is_a_page_of_the_site(browser, demo_server, width):
    page = browser.new_page(viewport={"width": width, "height": 800})
    response = page.goto(demo_server.url + "/article/no-such-article")
    assert response.status == 404
    page.screenshot(path=ARTIFACTS / f"not-found-{width}.png")
    assert page.locator("h1").inner_text() == "找不到这个页面"
    page.click("text=回到首页")
    page.wait_for_selector("input[name=q]")
    assert page.url == demo_server.url + "/"


@pytest.mark.parametrize("width", [360, 1280])
def test_feedback_round_trip_without_javascript(browser, demo_server, width):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.goto(demo_server.url + f"/search?q={SEED_TITLE}")
    form = page.locator(".hit .feedback").first
    assert form.locator("button").first.bounding_box()["height"] >= 44
    form.locator("button[value=yes]").click()
    page.wait_for_selector(".thanks")
    assert "谢谢你的反馈" in page.locator(".thanks").inner_text()
    assert page.locator(".hit").count() >= 1  # back on the same results
    page.screenshot(path=ARTIFACTS / f"feedback-{width}.png")
    context.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_knowledge_card_answers_first_and_opens_the_entity_page(browser, demo_server, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{demo_server.url}/search?q=甲亢有什么症状")
    card = page.locator(".knowledge").first
    assert card.locator("h2").inner_text().startswith("甲状腺功能亢进症")
    assert card.locator(".direct").inner_text().startswith("甲状腺功能亢进症：常见症状")
    assert card.bounding_box()["width"] <= width  # nothing wider than a phone
    page.screenshot(path=ARTIFACTS / f"knowledge-card-{width}.png", full_page=True)
    card.locator(".source a").click()
    page.wait_for_selector("article.entity h1")
    assert page.locator("h1").inner_text() == "甲状腺功能亢进症"
    assert "甲亢" in page.locator(".meta").first.inner_text()
    page.screenshot(path=ARTIFACTS / f"entity-{width}.png", full_page=True)
    page.close()
