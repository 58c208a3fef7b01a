"""HTTP for the crawler: one client with a User-Agent naming langzhong, timeouts, a total deadline
per request and a size cap, connecting only to addresses ``guard.py`` allows.

Redirects are followed here, hop by hop, so that the crawl policy can refuse a hop (another
site, a folder robots.txt disallows, a scheme other than http(s)) before it is requested.
Proxies named in the environment are not used: the guard must see the address connected to.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from importlib.metadata import version
from urllib.parse import urljoin

import httpx

from langzhong.crawl.guard import Addresses, GuardedBackend, GuardedTransport, Refused

ROBOTS_TOKEN = "langzhong"  # the name robots.txt rules address
USER_AGENT = f"langzhong/{version('langzhong')} (health Q&A crawler; obeys robots.txt: langzhong)"
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
TIMEOUT_S = 15.0  # the longest a connection may sit idle
TOTAL_S = 30.0  # the longest a whole request may take: connect, headers and body


@dataclass(frozen=True)
class Response:
    url: str  # where the body came from, after redirects
    status: int
    headers: httpx.Headers
    body: bytes
    requested: str  # the address asked for

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def retry_after(self) -> float | None:
        """Seconds the server asks us to wait (``Retry-After``: seconds or an HTTP date)."""
        value = self.headers.get("retry-after", "").strip()
        if value.isdigit():
            return float(value)
        try:
            return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            return None

    def validators(self) -> dict[str, str]:
        """What a later conditional request sends back (``ETag``, ``Last-Modified``)."""
        found = {
            "etag": self.headers.get("etag"),
            "last_modified": self.headers.get("last-modified"),
        }
        return {name: value for name, value in found.items() if value}


def conditional(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"If-None-Match": etag} if etag else {}
    return headers | ({"If-Modified-Since": last_modified} if last_modified else {})


class Fetcher:
    def __init__(
        self, user_agent: str = USER_AGENT, max_bytes: int = 5 << 20, total_s: float = TOTAL_S
    ) -> None:
        self.max_bytes = max_bytes
        self.addresses = Addresses()
        self._backend = GuardedBackend(self.addresses, total_s)
        self.client = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=TIMEOUT_S,
            follow_redirects=False,
            transport=GuardedTransport(self._backend),
            trust_env=False,
        )

    def get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        may_follow: Callable[[str], str | None] = lambda url: None,
        between_hops: float = 0.0,
    ) -> Response:
        """GET with redirects followed while ``may_follow(next_url)`` gives no reason to stop,
        ``between_hops`` seconds apart; raises Refused (a refused hop, too many hops, a body over
        the cap) or httpx.HTTPError."""
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            if hop:
                time.sleep(between_hops)
            response = self._get_once(current, headers or {})
            location = response.headers.get("location")
            if response.status not in REDIRECTS or not location:
                return Response(response.url, response.status, response.headers, response.body, url)
            following = urljoin(current, location)
            reason = None if following.startswith(("http://", "https://")) else "not http(s)"
            if reason := reason or may_follow(following):
                raise Refused(f"redirect to {following}: {reason}")
            current = following
        raise Refused(f"more than {MAX_REDIRECTS} redirects")

    def _get_once(self, url: str, headers: dict[str, str]) -> Response:
        self._backend.deadline = time.monotonic() + self._backend.total_s
        try:
            return self._read(url, headers)
        finally:
            self._backend.deadline = math.inf

    def _read(self, url: str, headers: dict[str, str]) -> Response:
        with self.client.stream("GET", url, headers=headers) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise Refused(f"{int(declared) >> 10} KiB, over the {self.max_bytes >> 10} KiB cap")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    raise Refused(f"over the {self.max_bytes >> 10} KiB cap")
        return Response(str(response.url), response.status_code, response.headers, bytes(body), url)

    def close(self) -> None:
        self.client.close()
