"""robots.txt, read once per host and crawl with protego.

RFC 9309: a robots.txt that does not exist (4xx) allows everything; one that cannot be read
(5xx, a network error) disallows everything until a later crawl reads it. Its redirects are
followed only on its own origin: a robots.txt that sends the crawler elsewhere is unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from protego import Protego

from langzhong.crawl.fetch import ROBOTS_TOKEN, Fetcher, Refused
from langzhong.crawl.scope import origin, same_origin

MAX_ROBOTS_BYTES = 500 << 10  # RFC 9309 asks crawlers to read at least 500 KiB


@dataclass
class HostRules:
    rules: Protego | None  # None: nothing is disallowed
    unreachable: str | None = None  # why the file could not be read: everything is disallowed
    sitemaps: list[str] = field(default_factory=list)

    def allows(self, url: str) -> bool:
        if self.unreachable:
            return False
        return self.rules is None or self.rules.can_fetch(url, ROBOTS_TOKEN)

    def crawl_delay(self) -> float:
        delay = self.rules.crawl_delay(ROBOTS_TOKEN) if self.rules else None
        return float(delay or 0.0)


class Robots:
    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self._hosts: dict[str, HostRules] = {}

    def of(self, url: str) -> HostRules:
        host = origin(url)
        if host not in self._hosts:
            self._hosts[host] = self._read(host)
        return self._hosts[host]

    def allows(self, url: str) -> bool:
        return self.of(url).allows(url)

    def _read(self, host: str) -> HostRules:
        try:
            response = self.fetcher.get(
                f"{host}/robots.txt", may_follow=lambda url: same_origin(url, host)
            )
        except httpx.HTTPError as error:
            return HostRules(None, unreachable=f"robots.txt unreadable ({type(error).__name__})")
        except Refused as error:
            return HostRules(None, unreachable=f"robots.txt unreadable: {error}")
        if 400 <= response.status < 500:
            return HostRules(None)
        if response.status != 200:
            return HostRules(None, unreachable=f"robots.txt answered HTTP {response.status}")
        text = response.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        rules = Protego.parse(text)
        return HostRules(rules, sitemaps=list(rules.sitemaps))
