"""A small health site on loopback, in the seed's site's template, for the crawler's tests and
``bench/crawl.py``: robots.txt (a disallowed folder, a Crawl-delay, the sitemap), a sitemap index
with a gzipped sitemap, an RSS feed, category pages, the seed page and its 相关阅读 target, and
ten more articles, among them one that answers 429 once, one behind a redirect and one in GBK.
Every article answers 304 to a matching If-None-Match. ``change`` and ``remove`` edit the site
between crawls; ``requests`` records what was asked.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SITE = "乡间郎中"
SEED_HTML = Path(__file__).parent / "data" / "html" / "seed.html"
SEED_TITLE = "腰椎微创手术后腰酸痛是怎么回事"
RELATED_TITLE = "腰突然直不起来是怎么回事"
LAST_MODIFIED = "Tue, 14 Jul 2020 08:00:00 GMT"

# path: (title, date, lead, [(heading, text)], [related paths])
ARTICLES: dict[str, tuple[str, str, str, list[tuple[str, str]], list[str]]] = {
    "/guke/2.html": (
        RELATED_TITLE,
        "2020-07-10",
        "腰突然直不起来常见于着凉、受寒或牵拉伤,直不起来可能有两种原因。",
        [
            ("一、软组织痉挛", "即肌肉痉挛,查体时位于棘突两旁的竖脊肌硬梆梆一碰就疼。"),
            ("二、小关节紊乱", "小关节周围有滑膜,滑膜崁顿就会出现疼痛而直不起腰来。"),
        ],
        ["/guke/1.html"],
    ),
    "/guke/3.html": (
        "腰椎间盘突出能自愈吗",
        "2020-06-02",
        "轻度的腰椎间盘突出经过休息和保守治疗，症状可以明显缓解，突出的髓核也可能部分吸收。",
        [
            (
                "一、哪些情况可能自愈",
                "初次发作、突出较小、没有神经受压体征的患者，多数在三个月内好转。",
            ),
            ("二、什么时候需要手术", "出现大小便障碍、下肢无力加重时，应尽快到脊柱外科就诊。"),
        ],
        ["/guke/1.html"],
    ),
    "/a/1.html": (
        "减肥最快的方法",
        "2021-01-15",
        "健康减肥没有捷径，每周减重零点五到一公斤比较安全。",
        [
            ("一、控制饮食", "减少精制糖和油炸食品，晚餐七分饱，多吃蔬菜和优质蛋白。"),
            ("二、规律运动", "每周至少一百五十分钟中等强度有氧运动，再加两次力量训练。"),
        ],
        [],
    ),
    "/a/2.html": (
        "失眠怎么办",
        "2021-02-20",
        "偶尔失眠不必紧张，长期失眠会影响白天的精神和情绪，需要调整作息。",
        [
            ("一、睡眠卫生", "每天固定时间起床，睡前一小时不看手机，下午以后不喝咖啡和浓茶。"),
            (
                "二、何时就医",
                "失眠超过一个月并影响工作，或伴有情绪低落，应到睡眠门诊或精神科就诊。",
            ),
        ],
        [],
    ),
    "/neike/1.html": (
        "感冒发烧吃什么药好",
        "2021-11-03",
        "普通感冒多由病毒引起，一般一周左右自愈，用药主要是缓解症状。",
        [
            (
                "一、退烧",
                "体温超过三十八点五度可以用对乙酰氨基酚或布洛芬，两次之间至少间隔四到六小时。",
            ),
            ("二、不要乱用抗生素", "病毒性感冒用抗生素没有作用，反而增加耐药和副作用。"),
        ],
        ["/neike/2.html"],
    ),
    "/neike/2.html": (
        "胃痛怎么缓解",
        "2021-05-08",
        "胃痛时先停止进食刺激性食物，少量多餐，注意腹部保暖。",
        [
            ("一、常见原因", "饮食不规律、吃得过饱、幽门螺杆菌感染都会引起胃痛。"),
            ("二、需要就医的情况", "呕血、黑便或疼痛剧烈持续不缓解时，要立即去医院。"),
        ],
        [],
    ),
    "/neike/3.html": (
        "高血压患者饮食注意什么",
        "2022-03-12",
        "高血压患者每天食盐不超过五克，少吃腌制食品，戒烟限酒。",
        [
            ("一、多吃什么", "多吃新鲜蔬菜水果、全谷物和低脂奶制品，有助于控制血压。"),
            ("二、少吃什么", "咸菜、腊肉、方便面等含钠高的食物要少吃。"),
        ],
        [],
    ),
    "/neike/4.html": (
        "糖尿病早期症状有哪些",
        "2022-04-01",
        "糖尿病早期可能没有明显症状，部分人会出现多饮、多尿、多食和体重下降。",
        [
            ("一、典型表现", "口渴明显、夜尿增多、容易饿但体重反而下降。"),
            ("二、及早检查", "有家族史或肥胖的人应每年查一次空腹血糖和糖化血红蛋白。"),
        ],
        [],
    ),
    "/neike/5.html": (
        "咳嗽有痰怎么办",
        "2022-12-01",
        "咳嗽有痰时多喝温水，保持室内空气湿润，有助于痰液排出。",
        [
            ("一、化痰", "可以在医生指导下使用氨溴索等祛痰药，不要随便用强力止咳药。"),
            ("二、及时就医", "痰中带血、高烧不退或气喘时，应尽快到呼吸科就诊。"),
        ],
        [],
    ),
    "/pifu/1.html": (
        "湿疹反复发作怎么办",
        "2022-08-19",
        "湿疹容易反复，日常护理的关键是保湿和避开诱发因素。",
        [
            ("一、皮肤护理", "洗澡水温不要太高，洗后三分钟内涂保湿霜，穿纯棉衣物。"),
            ("二、用药", "急性期可在皮肤科医生指导下短期外用弱效激素药膏。"),
        ],
        [],
    ),
    "/erke/1.html": (
        "小孩发烧39度怎么办",
        "2022-11-05",
        "孩子体温达到三十九度时，可以按体重服用退烧药，并多喝水。",
        [
            ("一、退烧", "六个月以上的孩子可用布洛芬或对乙酰氨基酚，不要用酒精擦身。"),
            ("二、马上就医", "三个月以下婴儿发烧、精神差、抽搐或呼吸困难时，要立即去医院。"),
        ],
        [],
    ),
}
EXPECTED_TITLES = {SEED_TITLE} | {title for title, *_ in ARTICLES.values()}
GBK_PAGE = "/neike/3.html"
RETRY_ONCE = "/a/2.html"
REDIRECTS = {"/old/4.html": "/neike/4.html"}
FEED_ONLY = "/neike/5.html"
LINK_ONLY = "/guke/3.html"  # found only through the seed's 相关阅读
DISALLOWED = "/private/secret.html"
# Every navigation link of the seed's template leads to a list of articles.
CATEGORIES = {
    "/guke/": ["/guke/1.html", "/guke/2.html"],
    "/neike/": ["/neike/1.html"],
    "/jibing/": ["/neike/1.html", "/pifu/1.html"],
    "/yaopin/": ["/neike/1.html"],
    "/wenda/": ["/a/2.html"],
    "/about": ["/guke/1.html"],
}
# The sitemaps list everything but the pages found only through a link or the feed.
SITEMAP_PAGES = [
    "/guke/1.html",
    "/guke/2.html",
    "/a/1.html",
    "/a/2.html",
    "/neike/1.html",
    "/neike/2.html",
    "/neike/3.html",
    "/old/4.html",
    "/pifu/1.html",
    "/erke/1.html",
    DISALLOWED,
]


def _titles() -> dict[str, str]:
    return {path: entry[0] for path, entry in ARTICLES.items()} | {"/guke/1.html": SEED_TITLE}


def article_html(path: str) -> str:
    """An article page in the site's template: navigation, an ad, comments, a sidebar."""
    title, date, lead, sections, related = ARTICLES[path]
    names = _titles()
    body = f"<p>{html.escape(lead)}</p>" + "".join(
        f"<h2>{html.escape(h)}</h2><p>{html.escape(t)}</p>" for h, t in sections
    )
    links = "".join(f'<li><a href="{p}">{html.escape(names[p])}</a></li>' for p in related)
    related_block = (
        f'<div class="related"><h3>{html.escape(title)}相关阅读</h3><ul>{links}</ul></div>'
        if related
        else ""
    )
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{html.escape(title)}-{SITE}</title><meta property="og:site_name" content="{SITE}">
<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>
<div class="header"><a href="/" class="logo">{SITE}</a><ul class="nav"><li><a href="/">首页</a></li>
<li><a href="/guke/">骨科</a></li><li><a href="/neike/">内科</a></li></ul></div>
<div class="main"><article><h1>{html.escape(title)}</h1>
<div class="info"><span class="time">{date}</span> 来源：{SITE}</div>{body}</article>
<div class="ad"><a href="https://ad.example/hospital">【广告】专家免费咨询，点击预约</a></div>
{related_block}
<div class="comments"><h3>网友评论</h3><p>网友123：说得很清楚，谢谢医生。</p></div></div>
<div class="sidebar"><h3>热门文章</h3><ul><li><a href="/a/1.html">减肥最快的方法</a></li>
<li><a href="/a/2.html">失眠怎么办</a></li></ul></div>
<div class="footer">{SITE} 版权所有</div></body></html>"""


def _listing(paths: list[str], heading: str) -> str:
    names = _titles()
    items = "".join(f'<li><a href="{p}">{html.escape(names[p])}</a></li>' for p in paths)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{heading}-{SITE}</title>'
        '<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>'
        f"<body><h1>{heading}</h1><ul>{items}</ul></body></html>"
    )


@dataclass
class Request:
    path: str
    status: int
    at: float
    headers: dict[str, str]


@dataclass
class FixtureSite:
    crawl_delay: float | None = 0.05
    requests: list[Request] = field(default_factory=list)
    host: str = "127.0.0.1"  # another loopback address (127.0.0.2) is another machine to a crawl

    def __post_init__(self) -> None:
        self.changed: dict[str, str] = {}  # path: a paragraph added to the page
        self.extra: dict[str, tuple[int, dict[str, str], bytes]] = {}  # path: a fixed answer
        self.removed: set[str] = set()
        self._retried: set[str] = set()
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once, as from a real server

            def do_GET(self) -> None:
                status, headers, body = site.respond(self.path, self.headers)
                with site._lock:
                    site.requests.append(
                        Request(self.path, status, time.monotonic(), dict(self.headers))
                    )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{self.host}:{self.server.server_address[1]}"

    def __enter__(self) -> FixtureSite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def change(self, path: str, paragraph: str) -> None:
        self.changed[path] = paragraph

    def remove(self, path: str) -> None:
        self.removed.add(path)

    def fetched(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    # -- the site ------------------------------------------------------------------------------

    def respond(self, path: str, asked: object) -> tuple[int, dict[str, str], bytes]:
        html_type = {"Content-Type": "text/html; charset=utf-8"}
        if path in self.extra:
            return self.extra[path]
        if path == "/robots.txt":
            delay = f"Crawl-delay: {self.crawl_delay}\n" if self.crawl_delay else ""
            text = (
                f"User-agent: *\nDisallow: /private/\n{delay}"
                f"Sitemap: {self.url}/sitemap_index.xml\n"
            )
            return 200, {"Content-Type": "text/plain"}, text.encode()
        if path == "/sitemap_index.xml":
            return 200, {"Content-Type": "application/xml"}, self._sitemap_index()
        if path == "/sitemaps/articles.xml.gz":
            return 200, {"Content-Type": "application/gzip"}, gzip.compress(self._urlset())
        if path == "/feed.xml":
            return 200, {"Content-Type": "application/rss+xml"}, self._feed()
        if path == "/":
            return 200, html_type, _listing(list(_titles()), SITE).encode()
        if path in CATEGORIES:
            return 200, html_type, _listing(CATEGORIES[path], path.strip("/")).encode()
        if path in REDIRECTS:
            return 301, {"Location": REDIRECTS[path]}, b""
        if path in self.removed:
            return 410, html_type, b"<html><body>gone</body></html>"
        if path == RETRY_ONCE and path not in self._retried:
            self._retried.add(path)
            return 429, {"Retry-After": "1"}, b""
        page = self._page(path)
        if page is None:
            return 404, html_type, b"<html><body>not found</body></html>"
        encoding = "gbk" if path == GBK_PAGE else "utf-8"
        if encoding == "gbk":  # the charset only in the HTTP header
            page = page.replace('<meta charset="utf-8">', "")
        body = page.encode(encoding)
        etag = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
        headers = {"Content-Type": f"text/html; charset={encoding}", "ETag": etag}
        headers["Last-Modified"] = LAST_MODIFIED
        if asked.get("If-None-Match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, headers, body

    def _page(self, path: str) -> str | None:
        if path == "/guke/1.html":
            page = SEED_HTML.read_text("utf-8")
        elif path in ARTICLES:
            page = article_html(path)
        else:
            return None
        if path in self.changed:
            page = page.replace("</article>", f"<p>{html.escape(self.changed[path])}</p></article>")
        return page

    def _sitemap_index(self) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{self.url}/sitemaps/articles.xml.gz</loc></sitemap></sitemapindex>"
        ).encode()

    def _urlset(self) -> bytes:
        entries = "".join(f"<url><loc>{self.url}{p}</loc></url>" for p in SITEMAP_PAGES)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        ).encode()

    def _feed(self) -> bytes:
        items = "".join(
            f"<item><title>{html.escape(ARTICLES[p][0])}</title><link>{self.url}{p}</link></item>"
            for p in ("/neike/1.html", FEED_ONLY)
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{SITE}</title>{items}</channel></rss>"
        ).encode()
