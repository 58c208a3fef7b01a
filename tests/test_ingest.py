import gzip
import json
from pathlib import Path

import pytest

from langzhong.config import Settings
from langzhong.ingest.sources import read_file
from langzhong.service import Service

SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"


def _snapshot(service: Service) -> dict:
    return {a.id: a for a in service.store.iter_articles()}


def test_ingesting_the_seed_twice_changes_nothing(service, seed_file):
    first = service.writing.ingest([seed_file])
    assert first.as_dict() == {"added": 2, "updated": 0, "duplicates": 0, "rejected": 0}
    before = _snapshot(service)
    again = service.writing.ingest([seed_file])
    assert again.as_dict() == {"added": 0, "updated": 0, "duplicates": 2, "rejected": 0}
    assert _snapshot(service) == before
    counts = service.admin.stats()
    assert (counts["articles"], counts["sections"], counts["indexed_documents"]) == (2, 5, 2)
    assert (counts["related_links"], counts["related_links_resolved"]) == (2, 2)


def test_a_near_duplicate_crawl_updates_the_stored_page(service, seed_file, tmp_path, seed_text):
    service.writing.ingest([seed_file])
    recrawl = tmp_path / "recrawl.txt"
    # Same page crawled again under a slightly different site name and a fixed typo.
    recrawl.write_text(
        seed_text.replace("-乡间郎中", "-乡间郎中网").replace("要被肌肉酸痛", "腰背肌肉酸痛"),
        encoding="utf-8",
    )
    report = service.writing.ingest([recrawl])
    assert report.counts["added"] == 0
    assert report.counts["updated"] == 2
    assert service.admin.stats()["articles"] == 2
    (main,) = [a for a in service.store.iter_articles() if a.title == SEED_TITLE]
    assert main.source == "乡间郎中网"
    assert "腰背肌肉酸痛" in main.sections[3].text


def test_a_gbk_page_is_read(service, seed_text, tmp_path):
    page = tmp_path / "gbk.txt"
    page.write_bytes(seed_text.encode("gbk"))
    assert service.writing.ingest([page]).counts["added"] == 2
    assert service.asking.article(service.asking.ask("滑膜嵌顿").hits[0].id).source == "乡间郎中"


TRADITIONAL_PAGE = (
    "高血壓患者能吃黨參嗎\n2021-03-02\n"
    "黨參有補中益氣的作用，高血壓患者可以適量服用，但要注意監測血壓。\n"
    "一、哪些人不宜服用\n血壓控制不好的患者，應先諮詢醫生。\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "gb18030", "big5", "utf-16", "utf-8-sig"])
def test_the_same_page_reads_the_same_in_any_encoding(tmp_path, encoding):
    page = tmp_path / f"page-{encoding}.txt"
    page.write_bytes(TRADITIONAL_PAGE.encode(encoding))
    (article,) = read_file(page, max_bytes=1 << 20)
    assert article.title == "高血壓患者能吃黨參嗎"
    assert "補中益氣" in article.lead and article.sections[0].heading == "一、哪些人不宜服用"


@pytest.mark.parametrize("declared", ['charset="big5"', "charset=gbk"])
def test_an_html_page_is_read_in_the_encoding_it_declares(tmp_path, declared):
    html = (
        f"<html><head><meta {declared}><title>黨參</title></head>"
        "<body><h1>高血壓患者能吃黨參嗎</h1><p>黨參有補中益氣的作用，高血壓患者可以適量服用。</p>"
        "</body></html>"
    )
    page = tmp_path / "page.html"
    page.write_bytes(html.encode("big5" if "big5" in declared else "gb18030"))
    (article, *_) = read_file(page, max_bytes=1 << 20)
    assert "補中益氣" in article.body_text()


def test_a_traditional_page_is_searchable_in_simplified(service, tmp_path):
    page = tmp_path / "traditional.txt"
    page.write_text("腰椎間盤突出怎麼辦\n2021-03-02\n腰椎間盤突出的患者應該臥床休息。", "utf-8")
    service.writing.ingest([page])
    (hit,) = service.asking.ask("腰椎间盘突出").hits
    assert hit.title == "腰椎間盤突出怎麼辦"  # stored as the page said it
    assert hit.passage[hit.highlights[0][0] : hit.highlights[0][1]] == "腰椎間盤突出"


def test_html_page_keeps_structure_and_drops_scripts(service, tmp_path):
    cause = "久坐、长时间弯腰、搬重物都会引起腰肌劳损，肌肉紧张时腰部会出现酸胀和疼痛。"
    relief = "热敷、适当锻炼腰背肌肉可以缓解，疼痛持续不缓解或者出现腿麻时要及时就医。"
    page = tmp_path / "page.html"
    page.write_text(
        f"""<html><head><title>腰痛怎么办-健康网</title><style>p{{color:red}}</style>
        <meta property="og:site_name" content="健康网"><script>alert('x')</script></head>
        <body><nav><a href="/">首页</a> | <a href="/d">疾病</a></nav>
        <article><h1>腰痛怎么办</h1><p>2022-05-06</p>
        <p>腰痛是常见的症状，多数与肌肉劳损有关，注意休息可以缓解。{cause}</p>
        <h2>一、常见原因</h2><p>{cause}<script>steal()</script>{cause}</p>
        <h2>二、怎么缓解</h2><p onclick="steal()">{relief}{relief}</p>
        </article><footer>版权所有 健康网</footer></body></html>""",
        encoding="utf-8",
    )
    assert service.writing.ingest([page]).counts["added"] == 1
    (article,) = service.store.iter_articles()
    assert (article.title, article.date, article.source) == ("腰痛怎么办", "2022-05-06", "健康网")
    assert article.lead.startswith("腰痛是常见的症状")
    assert [s.heading for s in article.sections] == ["一、常见原因", "二、怎么缓解"]
    stored = article.model_dump_json()
    for unwanted in ("steal", "alert", "首页", "版权所有", "color:red"):
        assert unwanted not in stored


HTML_PAGES = Path(__file__).parent / "data" / "html"
# page: (title, source, date, section headings, related titles, words it must keep)
HTML_EXPECTED = {
    "seed.html": (
        "腰椎微创手术后腰酸痛是怎么回事",
        "乡间郎中",
        "2020-07-14",
        ["一、腰椎微创手术后腰酸痛的原因", "1、腰椎间盘的变化", "2、腰椎承重增加"],
        ["腰突然直不起来是怎么回事", "腰椎间盘突出能自愈吗"],
        ["小关节承重增加", "神经被破坏"],
    ),
    "dangshen.html": (  # a site name in Latin letters, <title> with section and site
        "高血压患者能吃党参吗",
        "jiankang健康网",
        "2021-03-02",
        ["一、高血压患者能不能吃党参", "二、吃党参要注意什么"],
        ["高血压吃什么好", "党参的功效与作用", "高血压患者能喝茶吗"],
        ["一次3*5克以内", "“<script>降压秘方”", "160_100 mmHg", "感冒发烧期间暂停；"],
    ),
    "fever.html": (  # GBK, a short article, 推荐阅读, the site only in <title>
        "宝宝发烧39度怎么办",
        "小儿科普网",
        "2022-11-05",
        ["1、先物理降温", "2、按说明服用退烧药", "3、这些情况马上去医院"],
        ["宝宝发烧手脚冰凉怎么回事", "小孩高烧惊厥怎么处理"],
        ["不要用酒精擦身", "要立即就医"],
    ),
}
AROUND_THE_ARTICLE = (
    "广告",
    "评论",
    "匿名用户",
    "楼主",
    "热门",
    "版权所有",
    "Copyright",
    "登录",
    "分享到",
    "奶粉大促销",
    "三天降压",
    "首页",
)


@pytest.mark.parametrize("name", sorted(HTML_EXPECTED))
def test_an_html_article_page_is_stored_as_the_page_shows_it(name):
    title, source, date, headings, related, kept = HTML_EXPECTED[name]
    (article,) = read_file(HTML_PAGES / name, max_bytes=1 << 20)
    assert (article.title, article.source, article.date) == (title, source, date)
    assert [s.heading for s in article.sections][: len(headings)] == headings
    assert title not in [s.heading for s in article.sections]  # the <h1> is the title only
    assert [link.title for link in article.related] == related
    text = article.body_text()
    for words in kept:
        assert words in text
    stored = article.model_dump_json()
    assert "\\\\" not in stored and "- " not in text  # no Markdown escapes or list markers
    for unwanted in AROUND_THE_ARTICLE:
        assert unwanted not in stored, unwanted


def test_question_answer_jsonl_plain_and_gzipped(service, tmp_path):
    rows = [
        {
            "id": "q1",
            "department": "消化科",
            "title": "拉肚子怎么办？",
            "ask": "拉了三天",
            "answer": "多喝水。",
        },
        {
            "id": "q2",
            "department": "心血管科",
            "title": "高血压能吃党参吗",
            "ask": "想喝党参水",
            "answer": "可以适量。",
        },
    ]
    plain = tmp_path / "qa.jsonl"
    plain.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:1]), "utf-8")
    zipped = tmp_path / "qa.jsonl.gz"
    zipped.write_bytes(gzip.compress(json.dumps(rows[1], ensure_ascii=False).encode()))
    assert service.writing.ingest([plain, zipped]).counts["added"] == 2
    article = service.asking.article("q2")
    assert (article.kind, article.department, article.lead) == ("qa", "心血管科", "想喝党参水")
    assert [(s.heading, s.text) for s in article.sections] == [("医生回答", "可以适量。")]


def test_bad_inputs_are_reported_one_line_each_and_nothing_stored_is_lost(
    service, seed_file, tmp_path
):
    service.writing.ingest([seed_file])
    before = _snapshot(service)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (bad / "no_title.txt").write_text("。\n", "utf-8")
    with open(bad / "huge.txt", "wb") as handle:  # 100 MB, sparse: refused before it is read
        handle.truncate(100 * 2**20)
    (bad / "rows.jsonl").write_text('{"title": "t", "ask": "a"}\nnot json\n', "utf-8")
    (bad / "gone.gz").write_bytes(b"\x1f\x8b broken")
    rejected = []
    report = service.writing.ingest([bad, tmp_path / "missing.txt"], on_rejection=rejected.append)
    reasons = {Path(r.where.split(":")[0]).name: r.reason for r in report.rejections}
    assert reasons == {
        "binary.txt": "binary file (expected a text page, HTML or JSONL)",
        "empty.txt": "empty file",
        "gone.gz": reasons["gone.gz"],
        "huge.txt": "file too large: 100.0 MB (limit 20 MB)",
        "missing.txt": "no such file or directory",
        "no_title.txt": "no title found (the first line should be the page's title)",
        "rows.jsonl": reasons["rows.jsonl"],
    }
    assert len(report.rejections) == 8  # two bad lines in rows.jsonl
    assert all("\n" not in str(r) for r in rejected) and len(rejected) == 8
    assert _snapshot(service) == before


def test_a_directory_of_10000_pages_with_a_few_broken(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "LANGZHONG_DENSE", "off"
    )  # parsing and storing at scale; vectors: test_dense
    service = Service(Settings.load(tmp_path / "home"))
    pages = tmp_path / "crawl"
    pages.mkdir()
    for i in range(10_000):
        (pages / f"{i:05d}.txt").write_text(
            f"第{i}号问题：头痛{i}次怎么办\n2021-01-01\n第{i}号回答：头痛{i}次时应注意休息。",
            "utf-8",
        )
    for name in ("00007.txt", "04242.txt", "09999.txt"):
        (pages / name).write_bytes(b"\x00\x01\x02 broken")
    report = service.writing.ingest([pages])
    assert report.as_dict() == {"added": 9_997, "updated": 0, "duplicates": 0, "rejected": 3}
    assert service.admin.stats()["indexed_documents"] == 9_997
    service.close()


def test_hostile_html_leaves_only_text(service, tmp_path):
    body = "腰痛的时候可以热敷，也可以适当休息，避免久坐和搬重物，疼痛持续要及时就医检查。" * 3
    page = tmp_path / "hostile.html"
    page.write_text(
        f"""<html><head><title>腰痛护理</title></head><body>
        <article><h1>腰痛护理</h1>
        <p onmouseover="steal()">{body}</p>
        <p><a href="javascript:steal()">点这里</a><img src=x onerror="steal()">{body}
        <iframe src="javascript:steal()"></iframe><svg onload=steal()><b>未闭合的标签
        <p>{body}<style>body{{display:none}}</style></article>""",
        encoding="utf-8",
    )
    assert service.writing.ingest([page]).counts["added"] == 1
    stored = next(service.store.iter_articles()).model_dump_json()
    for unwanted in ("steal", "javascript:", "onerror", "onload", "<", ">", "display:none"):
        assert unwanted not in stored
