"""Error answers: JSON for the API, a page in the site's style for people. No input makes a
bare 500, and every error carries the security headers."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from langzhong.core import error_message
from langzhong.index import IndexUnavailable
from langzhong.store import StoreUnavailable
from langzhong.web.headers import security_headers

log = logging.getLogger(__name__)
JSON_PATHS = ("/api/", "/healthz", "/openapi.json")
PAGE_TEXT = {
    400: ("请求有误", "这个请求无法处理。"),
    403: ("无法提交", "这个表单只能在本站的页面上提交。"),
    404: ("找不到这个页面", "这个地址没有内容：文章可能已经删除，或者链接有误。"),
    405: ("不支持这种请求", "这个地址不支持这种请求方式。"),
    413: ("内容太长", "提交的内容超过了上限。"),
    422: ("请求有误", "地址里的参数不对：比如问题超过 500 字，或者页码不对。"),
    429: ("搜索太频繁", "你的搜索太频繁了，请一分钟后再试。"),
    500: ("出错了", "服务器处理这个请求时出错了，我们会查看日志。请稍后再试。"),
    503: ("暂时无法访问", "文章库或搜索服务暂时连接不上，请稍后再试。"),
}


class ProblemResponse(JSONResponse):
    """JSON with non-ASCII characters escaped: echoed input may hold a lone surrogate, which
    UTF-8 cannot encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def problem(
    request: Request,
    status: int,
    detail: Any,
    templates: Jinja2Templates,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error answer for this request: ``{"detail": …}`` for the API, else a page."""
    if request.url.path.startswith(JSON_PATHS):
        return ProblemResponse({"detail": detail}, status, headers)
    title, text = PAGE_TEXT.get(status, PAGE_TEXT[500 if status >= 500 else 400])
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "text": text, "query": ""},
        status_code=status,
        headers=headers,
    )


def install(app: Any, templates: Jinja2Templates) -> None:
    """The app's handlers for refusals, invalid input and failures."""

    async def refused(request: Request, error: HTTPException) -> Response:
        return problem(request, error.status_code, error.detail, templates, error.headers)

    async def invalid(request: Request, error: RequestValidationError) -> Response:
        # Where and what, never the input itself: it may be huge or not encodable.
        detail = [
            {"type": e["type"], "loc": e["loc"], "msg": error_message(e)} for e in error.errors()
        ]
        return problem(request, 422, detail, templates)

    async def unavailable(request: Request, error: Exception) -> Response:
        # A shared store or index server is down or unreachable: say so now, never hang or 500.
        # Which part, not where it lives: the address and user go to the log only.
        which = "article store" if isinstance(error, StoreUnavailable) else "search index"
        log.warning(
            "%s %s: the %s is unavailable: %s", request.method, request.url.path, which, error
        )
        detail = f"the {which} is unavailable, try again shortly"
        return problem(request, 503, detail, templates, {"Retry-After": "5"})

    async def failed(request: Request, error: Exception) -> Response:
        # Runs outside the middleware stack (Starlette's outermost layer), so the security
        # headers are added here. Starlette re-raises the error afterwards for the log.
        headers = {k.decode(): v.decode() for k, v in security_headers(request.url.path)}
        return problem(request, 500, "internal error", templates, headers)

    app.add_exception_handler(HTTPException, refused)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StoreUnavailable, unavailable)
    app.add_exception_handler(IndexUnavailable, unavailable)
    app.add_exception_handler(Exception, failed)
