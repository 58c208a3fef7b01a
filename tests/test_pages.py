import pytest

from langzhong.ingest.html import parse_html
from langzhong.ingest.pages import NotAPage, parse_date, parse_page
from langzhong.ingest.repeats import drop_repeated_blocks

SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"
RELATED_TITLE = "腰突然直不起来是怎么回事"


def test_seed_page_gives_the_article_and_its_related_article(seed_text):
    main, related = parse_page(seed_text)
    assert (main.title, main.date, main.source) == (SEED_TITLE, "2020-07-14", "乡间郎中")
    assert (related.title, related.source, related.date) == (RELATED_TITLE, "乡间郎中", None)


def test_seed_page_keeps_every_heading_at_its_level(seed_text):
    main, _ = parse_page(seed_text)
    assert [(s.level, s.heading) for s in main.sections] == [
        (1, "一、腰椎微创手术后腰酸痛的原因"),
        (2, "1、腰椎间盘的变化"),
        (2, "2、腰椎承重增加"),
        (2, "3、肌肉功能恢复异常"),
        (1, "二、腰椎微创手术的危害"),
    ]
    assert main.sections[0].text == ""
    assert main.sections[2].text.startswith("患者进行腰椎微创手术")
    assert "小关节的承重增加" in main.sections[2].text
    assert main.sections[4].text.endswith("否则会导致痛感加剧。")


def test_seed_page_lead_holds_the_two_opening_paragraphs(seed_text):
    main, _ = parse_page(seed_text)
    first, second = main.lead.split("\n")
    assert first.startswith("在进行腰椎手术以后,部分的患者会出现腰酸背痛的情况。")
    assert second.endswith("部分患者腰椎微创手术后腰酸痛是怎么回事?")


def test_seed_page_keeps_one_copy_of_every_paragraph(seed_text):
    articles = parse_page(seed_text)
    paragraphs = [p for a in articles for _, p, _ in a.paragraphs()]
    assert len(paragraphs) == len(set(paragraphs))
    assert len(paragraphs) == 2 + 4 + 2  # seed lead, 4 section texts; related article's two
    stored = "\n".join(a.title + a.body_text() for a in articles)
    assert stored.count("第一是软组织痉挛") == 1
    assert "乡间郎中" not in stored  # the site line is metadata, not text


def test_seed_page_keeps_what_the_page_said(seed_text):
    _, related = parse_page(seed_text)
    assert "滑膜崁顿" in related.lead  # the typo stays in the stored text; search fixes it
    assert "," in related.lead  # half-width commas too


def test_related_articles_are_linked_both_ways(seed_text):
    main, related = parse_page(seed_text)
    assert [(link.title, link.id) for link in main.related] == [(RELATED_TITLE, related.id)]
    assert [(link.title, link.id) for link in related.related] == [(SEED_TITLE, main.id)]


def test_a_repeated_block_is_dropped_but_a_repeated_short_heading_stays():
    lines = ["标题", "一、原因", "1、概述", "内容甲。", "二、危害", "1、概述", "内容乙。"]
    assert drop_repeated_blocks(lines) == lines
    copied = [
        "标题",
        "日期",
        "第一段文字内容。",
        "",
        "标题-网站",
        "标题",
        "日期",
        "第一段文字内容。",
    ]
    assert drop_repeated_blocks(copied) == ["标题", "日期", "第一段文字内容。", "", "标题-网站"]


def test_a_long_paragraph_repeated_alone_is_dropped():
    paragraph = "这是一段足够长的重复段落，在页面里出现了两次，应该只保留一次。"
    assert drop_repeated_blocks([paragraph, "中间", paragraph]) == [paragraph, "中间"]


def test_numbering_styles_nest_in_order():
    text = "标题\n导语。\n一、大节\n（一）中节\n正文。\n1.小节\n正文二。\n（1）细节\n正文三。"
    (article,) = parse_page(text)
    assert [(s.level, s.heading) for s in article.sections] == [
        (1, "一、大节"),
        (2, "（一）中节"),
        (3, "1.小节"),
        (4, "（1）细节"),
    ]


def test_a_numbered_sentence_is_a_paragraph_not_a_heading():
    (article,) = parse_page("标题\n一、注意事项\n1、多喝水，注意休息，避免劳累。\n2、按时服药。")
    assert [s.heading for s in article.sections] == ["一、注意事项"]
    assert article.sections[0].text.count("\n") == 1


def test_dates_in_common_forms():
    assert parse_date("2020-07-14") == "2020-07-14"
    assert parse_date("2020年7月4日 10:32") == "2020-07-04"
    assert parse_date("发布时间：2021/12/01") == "2021-12-01"
    assert parse_date("2020-13-40") is None
    assert parse_date("在2020-07-14这一天，患者出现了明显的腰痛症状并且去医院看了医生。") is None


def test_a_page_without_title_is_refused():
    for text in ["。", "这是一整段很长的文字，没有标题，直接就是正文内容。" * 5 + "。"]:
        try:
            parse_page(text)
        except NotAPage as error:
            assert "title" in str(error)
        else:
            raise AssertionError("expected NotAPage")


def test_a_question_is_a_title_and_a_heading():
    text = "高血压该治疗什么？\n高血压需要长期规律服药。\n一、为什么要吃药？\n药物能平稳控制血压。"
    (article,) = parse_page(text)
    assert article.title == "高血压该治疗什么？" and article.lead == "高血压需要长期规律服药。"
    assert [s.heading for s in article.sections] == ["一、为什么要吃药？"]
    html = (
        "<html><head><title>得了高血压怎么办?-某网站</title></head><body><h1>得了高血压怎么办?</h1>"
        "<p>高血压患者要遵医嘱长期服药，不可自行停药，同时注意低盐饮食和规律运动。</p></body></html>"
    )
    (page,) = parse_html(html)
    assert page.title == "得了高血压怎么办?"
    with pytest.raises(NotAPage, match="title"):  # a question with nothing under it
        parse_page("高血压该治疗什么？")


def test_related_titles_without_bodies_are_links_only():
    text = "主标题\n正文内容。\n相关阅读\n甲文章标题\n乙文章标题\n主标题-某网站"
    (article,) = parse_page(text)
    assert [(link.title, link.id) for link in article.related] == [
        ("甲文章标题", None),
        ("乙文章标题", None),
    ]
    assert article.source == "某网站"
