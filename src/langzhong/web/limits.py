"""Per-client search rate limit and request body size limit (pure ASGI middleware)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SEARCH_PATHS = ("/search", "/api/search")
MAX_CLIENTS = 100_000  # oldest client buckets are forgotten beyond this, bounding memory


class TokenBuckets:
    """``rate`` requests per minute per key, with bursts up to the same number."""

    def __init__(self, rate_per_minute: int) -> None:
        self.capacity = float(rate_per_minute)
        self.refill = rate_per_minute / 60.0
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.lock = threading.Lock()

    def take(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.refill)
            allowed = tokens >= 1
            self.buckets[key] = (tokens - 1 if allowed else tokens, now)
            if len(self.buckets) > MAX_CLIENTS:
                self.buckets.popitem(last=False)
            return allowed


class Limits:
    def __init__(self, app: ASGIApp, rate_per_minute: int, max_body_bytes: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate_per_minute) if rate_per_minute > 0 else None
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.buckets and scope["path"] in SEARCH_PATHS:
            client = (scope.get("client") or ("unknown", 0))[0]
            if not self.buckets.take(client):
                response = JSONResponse(
                    {"detail": "too many searches; try again in a minute"},
                    status_code=429,
                    headers={"Retry-After": "60"},
                )
                await response(scope, receive, send)
                return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            response = JSONResponse({"detail": "request body too large"}, status_code=413)
            await response(scope, receive, send)
            return
        await self.app(scope, self._capped(receive), send)

    def _capped(self, receive: Receive) -> Receive:
        """Refuse bodies sent without a length (chunked) once they pass the limit."""
        seen = 0

        async def wrapped() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise BodyTooLarge
            return message

        return wrapped


class BodyTooLarge(Exception):
    """A chunked request body went past the limit."""
