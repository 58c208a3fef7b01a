"""The ASGI application: pages, JSON API, static files and offline API docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from threadpoolctl import threadpool_limits

from langzhong.config import Settings
from langzhong.service import Service
from langzhong.web import api, pages
from langzhong.web.headers import SecurityHeaders
from langzhong.web.limits import BodyTooLarge, Limits

STATIC = Path(__file__).parent / "static"


def app_from_environment() -> FastAPI:
    """The app of one ``langzhong serve`` worker: settings from the environment."""
    # Reranking multiplies small matrices; BLAS threads would only fight the other requests.
    threadpool_limits(1, user_api="blas")
    service = Service(Settings.load())
    service.catch_up()
    return create_app(service)


def create_app(service: Service) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()  # hands the index back to other processes

    app = FastAPI(
        lifespan=lifespan,
        title="langzhong",
        description="Answers Chinese patients' health questions from trusted articles.",
        version="0.1.0",
        docs_url=None,  # served below from local files: no CDN
        redoc_url=None,
    )
    app.state.service = service
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(
        "/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger"
    )
    app.include_router(api.router)
    app.include_router(pages.router)
    settings = service.settings
    app.add_middleware(
        Limits,
        rate_per_minute=settings.rate_limit_per_minute,
        max_body_bytes=settings.max_body_kb << 10,
    )
    app.add_middleware(SecurityHeaders)  # outermost: refusals get the headers too

    @app.exception_handler(BodyTooLarge)
    def body_too_large(request: Request, error: BodyTooLarge) -> JSONResponse:
        return JSONResponse({"detail": "request body too large"}, status_code=413)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="langzhong API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    return app
