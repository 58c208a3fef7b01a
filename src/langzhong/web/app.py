"""The ASGI application: pages, JSON API, static files and offline API docs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope
from threadpoolctl import threadpool_limits

from langzhong.config import Settings
from langzhong.index import IndexUnavailable
from langzhong.knowledge import shipped_graph
from langzhong.service import Service
from langzhong.web import api, api_reference, errors, metrics, pages
from langzhong.web.headers import SecurityHeaders
from langzhong.web.limits import Limits

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# Swagger UI 5, shipped as files by fastapi-offline (served at /docs-assets, no CDN).
SWAGGER_UI = Path(str(resources.files("fastapi_offline").joinpath("static")))


class CachedStaticFiles(StaticFiles):
    """Static files a browser may keep for an hour (they change only with a release); after
    that it revalidates with the ETag StaticFiles sends."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=3600"
        return response


def app_from_environment() -> FastAPI:
    """The app of one ``langzhong serve`` worker: settings from the environment."""
    # Reranking multiplies small matrices; BLAS threads would only fight the other requests.
    threadpool_limits(1, user_api="blas")
    metrics.log_to_stderr()
    service = Service(Settings.load())
    service.asking.on_search = metrics.searched
    try:
        service.catch_up()
    except IndexUnavailable as error:  # answers 503 until it is back, then catches up
        log.warning("the index is unavailable at start: %s", error)
    shipped_graph()  # loaded before the first question, not during it (under a second)
    service.asking.warm_up()
    service.vectors.embed_in_background()  # an API write's vector, and any left pending
    return create_app(service)


def create_app(service: Service) -> FastAPI:
    pages.templates.env.globals["ranking"] = service.asking.ranking()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()  # hands the index back to other processes

    app = FastAPI(
        lifespan=lifespan,
        title="langzhong",
        description="Answers Chinese patients' health questions from health articles and doctors'"
        " answers, each with its source.",
        version="0.1.0",
        docs_url=None,  # served below from local files: no CDN
        redoc_url=None,
        # Its redirects are built from the Host header, which the client chooses.
        redirect_slashes=False,
    )
    app.state.service = service
    app.mount("/static", CachedStaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", CachedStaticFiles(directory=SWAGGER_UI), name="swagger")
    app.include_router(api.router)
    app.include_router(pages.router)
    errors.install(app, pages.templates)
    settings = service.settings
    app.add_middleware(
        Limits,
        templates=pages.templates,
        buckets=service.rate_limit(),
        max_body_bytes=settings.max_body_kb << 10,
        api_token=settings.api_token,
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)  # for clients that accept it
    app.add_middleware(SecurityHeaders)  # refusals get the headers too
    # Outermost: every request is counted and logged, refused ones too.
    app.add_middleware(metrics.Observed, routes=app.router.routes, log_queries=settings.log_queries)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        """Prometheus' text format (for the operators' scraper: the proxy keeps it inside)."""
        body, content_type = metrics.exposition(service)
        return Response(body, media_type=content_type)

    @app.get("/docs", include_in_schema=False)
    def reference(request: Request) -> HTMLResponse:
        spec = app.openapi()
        return pages.templates.TemplateResponse(
            request,
            "api_reference.html",
            {
                "info": spec["info"],
                "version": spec["openapi"],
                "operations": api_reference.operations(spec),
                "schemas": api_reference.schemas(spec),
                "query": "",
            },
        )

    @app.get("/docs/try", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return pages.templates.TemplateResponse(request, "docs.html")

    return app
