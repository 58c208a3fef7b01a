"""The web site in real headless Chromium (Debian's), driven by Playwright."""

import shutil
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")

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
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_search_read_and_follow_related_reading(browser, demo_server, width):
    ARTIFACTS.mkdir(exist_ok=True)
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
    assert "骨科/脊柱外科" in page.locator(".department").inner_text()
    assert "免责声明" in page.locator("footer").inner_text()
    page.screenshot(path=ARTIFACTS / f"article-{width}.png", full_page=True)

    page.click(f".related-reading a:text('{RELATED_TITLE}')")
    page.wait_for_selector("article h1")
    assert page.locator("article h1").inner_text() == RELATED_TITLE
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


def test_api_docs_render_under_their_content_policy(browser, demo_server):
    page = browser.new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else 0)
    page.goto(demo_server.url + "/docs")
    page.wait_for_selector(".opblock-summary-path")  # one row per API operation
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/search" in paths and "/api/articles/{article_id}" in paths
    assert refused == []


def test_an_error_page_is_a_page_of_the_site(browser, demo_server):
    page = browser.new_page(viewport={"width": 360, "height": 800})
    response = page.goto(demo_server.url + "/article/no-such-article")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "找不到这个页面"
    page.click("text=回到首页")
    page.wait_for_selector("input[name=q]")
    assert page.url == demo_server.url + "/"
