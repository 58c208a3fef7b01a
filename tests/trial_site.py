"""A generated health site laid out like the operator's trial (docs/crawl.md): 200 articles in
four channels, half of them titled as questions, two fifths served in GBK, paginated channel
pages and tag pages with a summary under each link, a search page, 关于我们 / 免责声明 /
联系我们 pages carrying the whole navigation and an ad, a sitemap index, robots.txt with
Crawl-delay 0, and links, a sitemap entry and a redirect to an "admin" server on another port
of the same host, which must never be asked anything.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import random
from dataclasses import dataclass
from typing import NamedTuple

from fixture_site import FixtureSite

SITE = "健康百科网"
_NAMES = """
高血压 糖尿病 冠心病 胃炎 胃溃疡 便秘 腹泻 感冒 咳嗽 哮喘 肺炎 支气管炎 痛风 颈椎病 腰椎间盘突出
骨质疏松 关节炎 湿疹 荨麻疹 痤疮 脂肪肝 胆结石 肾结石 甲亢 贫血 偏头痛 失眠 焦虑症 抑郁症 鼻炎
咽炎 口腔溃疡 结膜炎 中耳炎 痔疮 乳腺增生 月经不调 宫颈炎 前列腺炎 尿路感染 手足口病 水痘
腮腺炎 小儿发烧 小儿腹泻 肩周炎 静脉曲张 带状疱疹 甲状腺结节 过敏性紫癜
"""
DISEASES = tuple(_NAMES.split())
# (title, section headings) of the four kinds of article; two titled as questions.
KINDS = (
    ("{}吃什么好？", ("一、{}患者适合吃什么？", "二、要少吃哪些食物", "三、饮食之外还要注意什么")),
    ("{}的早期症状", ("一、{}早期有哪些表现", "二、容易被忽视的信号", "三、出现症状后怎么办")),
    ("得了{}怎么办?", ("一、先明确病情", "二、为什么会得{}？", "三、生活中如何调理")),
    ("{}的常用治疗方法", ("一、药物治疗", "二、非药物治疗", "三、治疗期间的注意事项")),
)
SENTENCES = (
    "{}患者宜多吃新鲜蔬菜、水果和粗粮，每餐七八分饱。",
    "辛辣刺激、油炸和腌制食品可能加重{}的症状。",
    "浓茶、咖啡和酒精会影响睡眠，{}患者最好少喝。",
    "{}早期症状往往不典型，部分人只是觉得乏力。",
    "如果不适反复出现且休息后不见好转，要警惕{}。",
    "怀疑{}时应尽早到正规医院检查，不要自行服药。",
    "明确诊断是治疗{}的第一步，需要做必要的化验和影像检查。",
    "{}的发生与遗传、年龄、饮食习惯和生活方式都有关系。",
    "长期熬夜、精神紧张的人更容易出现{}。",
    "规律作息、适量运动有助于控制{}的发展。",
    "药物要在医生指导下使用，{}患者不可随意增减剂量。",
    "部分{}患者需要长期服药，并定期复查肝肾功能。",
    "理疗、针灸等方法可以作为{}的辅助治疗。",
    "治疗期间出现明显副作用，应及时告诉医生调整方案。",
    "保持心情舒畅对{}的康复很有帮助。",
    "家人的理解和陪伴能帮助{}患者坚持治疗。",
    "每年体检一次，可以及早发现{}的苗头。",
    "戒烟是预防{}最简单也最有效的措施之一。",
    "体重超标会增加{}的风险，减重五公斤就能看到改善。",
    "天气变化时{}容易反复，要注意保暖。",
    "儿童和老人患{}后病情变化快，需要更密切地观察。",
    "网络上的偏方治疗{}缺乏证据，不要轻信。",
    "出现高烧、剧烈疼痛或意识改变时，{}患者应立即就医。",
    "坚持记录症状和用药情况，复诊时医生能更快判断{}的变化。",
)
CHANNELS = {"neike": "内科", "waike": "外科", "erke": "儿科", "pifu": "皮肤科"}
PER_PAGE = 10
DOCTORS = ("王建国", "李秀英", "张伟", "刘芳")
LEGAL = {"/about.html": "关于我们", "/disclaimer.html": "免责声明", "/contact.html": "联系我们"}
SEARCHES = ("高血压", "失眠", "湿疹")


class Entry(NamedTuple):
    path: str
    title: str
    date: str
    headings: tuple[str, ...]
    sentences: tuple[int, ...]  # its body: six of SENTENCES, two a section
    disease: int  # its index in DISEASES: the tag page that lists it
    encoding: str  # how the page is served: utf-8, gbk (named by the header) or gbk-meta


def _entries() -> list[Entry]:
    entries = []
    for number in range(len(DISEASES) * len(KINDS)):
        disease, kind = divmod(number, len(KINDS))
        name = DISEASES[disease]
        title, headings = KINDS[kind]
        channel = list(CHANNELS)[number % len(CHANNELS)]
        date = f"{2019 + number % 5}-{1 + number % 12:02d}-{1 + number % 28:02d}"
        sentences = tuple(random.Random(number).sample(range(len(SENTENCES)), 6))
        encoding = ("gbk", "utf-8", "gbk-meta", "utf-8", "utf-8")[number % 5]
        path = f"/{channel}/{1000 + number}.html"
        headings = tuple(heading.format(name) for heading in headings)
        title = title.format(name)
        entries.append(Entry(path, title, date, headings, sentences, disease, encoding))
    return entries


ENTRIES = _entries()
BY_PATH = {entry.path: entry for entry in ENTRIES}


def _lead(entry: Entry) -> str:
    name = DISEASES[entry.disease]
    return (
        f"{name}是临床上常见的疾病，很多患者对“{entry.title.rstrip('？?')}”这个问题并不了解。"
        f"下面由{DOCTORS[entry.disease % 4]}医生为大家详细介绍。"
    )


def _section_text(entry: Entry, position: int) -> str:
    chosen = entry.sentences[2 * position : 2 * position + 2]
    return "".join(SENTENCES[n].format(DISEASES[entry.disease]) for n in chosen)


def _navigation() -> str:
    channels = "".join(f'<li><a href="/{c}/">{n}</a></li>' for c, n in CHANNELS.items())
    searches = "".join(f'<a href="/search?q={w}">{w}</a> ' for w in SEARCHES)
    return (
        f'<div class="header"><a href="/" class="logo">{SITE}</a><ul class="nav">'
        f'<li><a href="/">首页</a></li>{channels}</ul>'
        f'<div class="hot">热门搜索：{searches}</div></div>'
    )


def _footer(admin: str) -> str:
    legal = " | ".join(f'<a href="{p}">{t}</a>' for p, t in LEGAL.items())
    return (
        f'<div class="footer">{legal} | <a href="{admin}/admin/login.html">管理登录</a>'
        f"<p>Copyright 2023 {SITE} 版权所有 京ICP备00000000号</p></div>"
    )


AD = '<div class="ad"><a href="https://ad.example/clinic">【广告】名医在线，免费咨询，点击预约挂号</a></div>'


def _page(title: str, body: str, admin: str, meta: str = '<meta charset="utf-8">') -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head>{meta}<title>{html.escape(title)}-{SITE}</title>'
        f'<meta property="og:site_name" content="{SITE}"></head><body>{_navigation()}'
        f'<div class="main">{body}</div>{AD}{_footer(admin)}</body></html>'
    )


def article_html(entry: Entry, admin: str) -> str:
    """The article in the site's template: byline, sections, tags, 相关阅读, comments, sidebar."""
    doctor = DOCTORS[entry.disease % 4]
    year, month, day = (int(part) for part in entry.date.split("-"))
    byline = (
        f'<div class="info"><span class="time">{entry.date}</span> 来源：{SITE}</div>'
        if entry.disease % 2
        else f'<p class="byline">{year}年{month}月{day}日 作者：{doctor}</p>'
    )
    sections = "".join(
        f"<h2>{html.escape(heading)}</h2><p>{_section_text(entry, n)}</p>"
        for n, heading in enumerate(entry.headings)
    )
    siblings = [e for e in ENTRIES if e.disease == entry.disease and e != entry]
    related = "".join(f'<li><a href="{e.path}">{html.escape(e.title)}</a></li>' for e in siblings)
    name = DISEASES[entry.disease]
    body = (
        f"<article><h1>{html.escape(entry.title)}</h1>{byline}<p>{_lead(entry)}</p>{sections}"
        f'<div class="tags">标签：<a href="/tag/{entry.disease}.html">{name}</a></div></article>'
        f'<div class="related"><h3>相关阅读</h3><ul>{related}</ul></div>'
        '<div class="comments"><h3>网友评论</h3><p>网友8848：医生讲得很清楚，收藏了。</p></div>'
        f'<div class="sidebar"><h3>热门文章</h3><ul>{_items(ENTRIES[:5], summary=False)}</ul></div>'
    )
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=gbk">'
    return _page(entry.title, body, admin, meta if entry.encoding == "gbk-meta" else "")


def _items(entries: list[Entry], summary: bool = True) -> str:
    return "".join(
        f'<li><h3><a href="{e.path}">{html.escape(e.title)}</a></h3>'
        + (f'<p>{_lead(e)[:60]}…</p><span class="time">{e.date}</span>' if summary else "")
        + "</li>"
        for e in entries
    )


def listing_html(heading: str, entries: list[Entry], admin: str, pages: str = "") -> str:
    """A channel, tag, search or home page: a summary under each link, pagination below."""
    intro = f"<p>{SITE}{heading}频道为您提供权威、实用的健康科普知识，内容由专业医生审核。</p>"
    body = f'<h1>{heading}</h1>{intro}<ul class="list">{_items(entries)}</ul>{pages}'
    return _page(heading, body, admin)


def _pagination(channel: str, count: int) -> str:
    links = "".join(f'<a href="/{channel}/?page={n}">{n}</a> ' for n in range(1, count + 1))
    return f'<div class="pages">{links}<a href="/{channel}/?page=2">下一页</a></div>'


def legal_html(title: str, admin: str) -> str:
    prose = (
        f"本站所有文章仅供参考，不能代替执业医师的诊断和治疗。{SITE}对因使用本站内容造成的任何损失不承担责任。"
        "本站部分内容来自网络，如有侵权请联系删除。转载本站原创文章请注明出处。"
    )
    body = f'<h1>{title}</h1><p>{prose}</p><p>{prose}</p><p><a href="{admin}/admin/">后台</a></p>'
    return _page(title, body, admin)


@dataclass
class TrialSite(FixtureSite):
    """``admin``: the address of another server on the same host, linked from the site."""

    crawl_delay: float | None = 0
    admin: str = "http://127.0.0.1:9"

    def respond(self, path: str, asked: object) -> tuple[int, dict[str, str], bytes]:
        route, _, query = path.partition("?")
        if path in self.extra:
            return self.extra[path]
        if path in self.removed:
            return 410, {"Content-Type": "text/html"}, b"<html><body>gone</body></html>"
        if route == "/robots.txt":
            rules = f"User-agent: *\nDisallow: /admin/\nCrawl-delay: {self.crawl_delay}\n"
            sitemap = f"Sitemap: {self.url}/sitemap_index.xml\n"
            return 200, {"Content-Type": "text/plain"}, (rules + sitemap).encode()
        if route == "/sitemap_index.xml":
            return 200, {"Content-Type": "application/xml"}, _sitemap_index(self.url)
        if route == "/old/index.html":
            return 301, {"Location": f"{self.admin}/admin/"}, b""
        if route.startswith("/sitemaps/") and (sitemap := self._sitemap(route)):
            return 200, {"Content-Type": "application/xml"}, sitemap
        entry = BY_PATH.get(route)
        page = article_html(entry, self.admin) if entry else self._listing(route, query)
        if page is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body>not found</body></html>"
        encoding = entry.encoding if entry else "utf-8"
        body = page.encode("gbk" if encoding.startswith("gbk") else "utf-8")
        kind = {"gbk": "text/html; charset=gbk", "gbk-meta": "text/html"}
        headers = {"Content-Type": kind.get(encoding, "text/html; charset=utf-8")}
        headers["ETag"] = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
        if asked.get("If-None-Match") == headers["ETag"]:
            return 304, {"ETag": headers["ETag"]}, b""
        return 200, headers, body

    def _listing(self, route: str, query: str) -> str | None:
        if route == "/":
            return listing_html("最新文章", ENTRIES[:20], self.admin, _pagination("neike", 5))
        if route in LEGAL:
            return legal_html(LEGAL[route], self.admin)
        channel = route.strip("/")
        if channel in CHANNELS:
            entries = [e for e in ENTRIES if e.path.startswith(route)]
            page = int(query.removeprefix("page=")) if query.startswith("page=") else 1
            shown = entries[(page - 1) * PER_PAGE : page * PER_PAGE]
            count = len(entries) // PER_PAGE
            return listing_html(CHANNELS[channel], shown, self.admin, _pagination(channel, count))
        tag = route.removeprefix("/tag/").removesuffix(".html")
        if route.startswith("/tag/") and tag.isdigit() and int(tag) < len(DISEASES):
            entries = [e for e in ENTRIES if e.disease == int(tag)]
            return listing_html(DISEASES[int(tag)], entries, self.admin)
        if route == "/search":
            from urllib.parse import parse_qs

            word = parse_qs(query).get("q", [""])[0]
            found = [e for e in ENTRIES if word and word in e.title][:PER_PAGE]
            return listing_html(f"{word}的搜索结果", found, self.admin)
        return None

    def _sitemap(self, route: str) -> bytes | None:
        name = route.removeprefix("/sitemaps/").removesuffix(".gz").removesuffix(".xml")
        if name in CHANNELS:
            channel = name
            paths = [e.path for e in ENTRIES if e.path.startswith(f"/{channel}/")]
            return gzip.compress(_urlset([self.url + p for p in paths]))
        if name == "pages":
            paths = ["/", *LEGAL, *(f"/{c}/" for c in CHANNELS), "/old/index.html"]
            return _urlset([self.url + p for p in paths] + [f"{self.admin}/admin/users.html"])
        return None


def _sitemap_index(base: str) -> bytes:
    names = [f"{channel}.xml.gz" for channel in CHANNELS] + ["pages.xml"]
    entries = "".join(f"<sitemap><loc>{base}/sitemaps/{n}</loc></sitemap>" for n in names)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
    ).encode()


def _urlset(urls: list[str]) -> bytes:
    entries = "".join(f"<url><loc>{html.escape(u)}</loc></url>" for u in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    ).encode()
