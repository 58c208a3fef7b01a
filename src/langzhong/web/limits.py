"""Per-client search rate limit, request body size limit and the write token, checked before
a request's body is read (pure ASGI middleware). The searches are counted where every worker
of every server meets (``store/rate_limits.py``)."""

from __future__ import annotations

import hmac
from typing import Protocol

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from langzhong.web.errors import problem

LIMITED_PATHS = ("/search", "/api/search", "/feedback")  # per client, per minute
WRITE_PATHS = "/api/articles"
READ_METHODS = ("GET", "HEAD", "OPTIONS")


class Buckets(Protocol):
    def take(self, client: str) -> bool:
        """Whether the client may search now (and count this one)."""


def bearer_token(authorization: bytes | None) -> bytes | None:
    """The token of an ``Authorization: Bearer <token>`` header (the scheme in any case)."""
    scheme, _, token = (authorization or b"").strip().partition(b" ")
    token = token.strip()
    return token if scheme.lower() == b"bearer" and token else None


class Limits:
    def __init__(
        self,
        app: ASGIApp,
        templates: Jinja2Templates,
        buckets: Buckets | None,
        max_body_bytes: int,
        api_token: str | None,
    ) -> None:
        """``buckets``: the searches' rate limit (None: no limit)."""
        self.app = app
        self.templates = templates
        self.buckets = buckets
        self.max_body = max_body_bytes
        self.token = api_token.encode() if api_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        refusal = self._refusal(scope, headers)
        chunked = b"content-length" not in headers and scope["method"] not in READ_METHODS
        if refusal is None and chunked:
            body, too_large = await _read_capped(receive, self.max_body)
            if too_large:
                refusal = (413, "request body too large", None)
            else:
                receive = _replay(body, receive)
        if refusal is not None:
            status, detail, extra = refusal
            response = problem(Request(scope), status, detail, self.templates, extra)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(
        self, scope: Scope, headers: dict[bytes, bytes]
    ) -> tuple[int, str, dict[str, str] | None] | None:
        """Why this request is refused before its body is read, if it is."""
        path, method = scope["path"], scope["method"]
        if self.buckets and path in LIMITED_PATHS:
            client = (scope.get("client") or ("unknown", 0))[0]
            if not self.buckets.take(client):
                return 429, "too many searches; try again in a minute", {"Retry-After": "60"}
        if path.startswith(WRITE_PATHS) and method not in READ_METHODS:
            if self.token is None:
                return 403, "write API disabled: no LANGZHONG_API_TOKEN is configured", None
            given = bearer_token(headers.get(b"authorization"))
            if given is None or not hmac.compare_digest(given, self.token):
                return 401, "missing or wrong token", {"WWW-Authenticate": "Bearer"}
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return 413, "request body too large", None
        return None


async def _read_capped(receive: Receive, limit: int) -> tuple[list[Message], bool]:
    """A body sent without a length (chunked), read whole up to ``limit`` bytes."""
    messages, seen = [], 0
    while True:
        message = await receive()
        messages.append(message)
        seen += len(message.get("body", b""))
        if seen > limit:
            return [], True
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages, False


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """The buffered body, then what the server sends next (a disconnect, when it comes)."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
