"""What a server reports to its operators: Prometheus metrics at ``/metrics`` and one JSON
access line a request.

The counters and histograms are prometheus_client's multiprocess mode: ``langzhong serve``
gives its workers one folder (``PROMETHEUS_MULTIPROC_DIR``, set before prometheus_client is
imported), each worker writes its own values there, and whichever worker answers a scrape adds
them all up. Figures read from the store (index lag, vectors pending, crawl counts) are read at
the scrape, the same from every worker.

The access line never holds the question unless the operator turns it on
(``LANGZHONG_LOG_QUERIES=on``): health questions are personal.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import unquote

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from langzhong.core import Answer
from langzhong.service import Service

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
REQUESTS = Counter(
    "langzhong_requests", "HTTP requests answered, by route and status", ["route", "status"]
)
LATENCY = Histogram(
    "langzhong_request_seconds",
    "Time to answer a request, by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SEARCHES = Counter("langzhong_searches", "Searches run (questions, related articles, entities)")
INDEX_CALLS = Counter(
    "langzhong_index_calls", "Requests the searches sent to a shared index server (Milvus)"
)
ANSWERS = Counter("langzhong_answers", "Questions answered through the site or the API")
ABSTAINED = Counter("langzhong_answers_abstained", "Questions no article answered confidently")
RED_FLAGS = Counter("langzhong_red_flags", "Red flags raised by questions, by level", ["level"])
access_log = logging.getLogger("langzhong.access")


def searched(calls: int) -> None:
    """One search ran, costing ``calls`` index server requests (``Asking.on_search``)."""
    SEARCHES.inc()
    INDEX_CALLS.inc(calls)


def answered(answer: Answer) -> None:
    ANSWERS.inc()
    if answer.abstained:
        ABSTAINED.inc()
    for flag in answer.red_flags:
        RED_FLAGS.labels(flag.level).inc()


def exposition(service: Service) -> tuple[bytes, str]:
    """The metrics page: every worker's counters, and the store's figures as they are now."""
    if os.environ.get(MULTIPROCESS_DIR):
        shared = CollectorRegistry()
        multiprocess.MultiProcessCollector(shared)
    else:  # one process (a test app): its own registry
        from prometheus_client import REGISTRY as shared
    now = CollectorRegistry()
    now.register(_StoreFigures(service))
    return generate_latest(shared) + generate_latest(now), CONTENT_TYPE_LATEST


class _StoreFigures:
    """Gauges read from the store at the scrape: plain values (metric families), not the
    multiprocess files a Gauge object would write in every worker."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        service = self.service
        yield GaugeMetricFamily(
            "langzhong_index_lag",
            "Store changes the index has not applied",
            service.indexer.pending(),
        )
        yield GaugeMetricFamily(
            "langzhong_vectors_pending",
            "Articles waiting for an e5 vector of their current content",
            service.vectors.counts()["pending"],
        )
        yield GaugeMetricFamily(
            "langzhong_articles", "Articles in the store", service.store.counts()["articles"]
        )
        crawl = GaugeMetricFamily(
            "langzhong_crawl_addresses", "Addresses the crawler knows, by state", labels=["state"]
        )
        for state, count in service.crawling.counts().items():
            crawl.add_metric([state], count)
        yield crawl


def log_to_stderr() -> None:
    """Access lines as they are, one JSON object a line, on the server's standard error."""
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


class Observed:
    """Pure ASGI middleware: each request counted and timed by its route (the route's pattern,
    so ids do not make new series), and its access line written."""

    def __init__(self, app: ASGIApp, routes: list, log_queries: bool = False) -> None:
        self.app, self.routes, self.log_queries = app, routes, log_queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status, done = time.perf_counter(), 500, False

        def record() -> None:
            nonlocal done
            done = True
            self._record(scope, status, time.perf_counter() - started)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record()  # before the last bytes leave: a client that has them sees it counted
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not done:  # failed, or the client left before the answer was complete
                record()

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = self._route(scope)
        REQUESTS.labels(route, str(status)).inc()
        LATENCY.labels(route).observe(seconds)
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": scope["method"],
            "route": route,
            "status": status,
            "ms": round(seconds * 1000, 1),
            "worker": os.getpid(),
        }
        if self.log_queries and (query := scope.get("query_string")):
            line["query"] = unquote(query.decode("latin-1"))
        access_log.info(json.dumps(line, ensure_ascii=False))

    def _route(self, scope: Scope) -> str:
        """The route that answered, or would have (a request refused before routing)."""
        if (route := scope.get("route")) is not None:
            return route.path
        for candidate in _leaves(self.routes):
            if candidate.matches(scope)[0] != Match.NONE:
                return candidate.path
        return "unmatched"


def _leaves(routes: list) -> list:
    """The routes with a path, those of included routers too (FastAPI keeps an included router
    whole, as one entry that matches everything under it)."""
    found = []
    for route in routes:
        if (inner := getattr(route, "original_router", None)) is not None:
            found += _leaves(inner.routes)
        elif hasattr(route, "path"):
            found.append(route)
    return found
