"""Server-rendered pages: home, results, article. They work without JavaScript."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from langzhong.answer.compose import PAGE_SIZE
from langzhong.answer.department import department_for_text
from langzhong.core import Article
from langzhong.service import Service
from langzhong.web.api import MAX_QUERY_CHARS, get_service

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
EXAMPLES = (
    "微创手术后腰酸是怎么回事",
    "腰突然直不起来",
    "高血压能吃党参吗",
    "拉肚子好几天了怎么办",
)


def marked(text: str, spans: tuple[tuple[int, int], ...]) -> Markup:
    """The text escaped, with the highlight spans wrapped in <mark>."""
    parts, last = [], 0
    for start, end in spans:
        parts.append(escape(text[last:start]))
        parts.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        last = end
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


templates.env.filters["marked"] = marked
ServiceDep = Annotated[Service, Depends(get_service)]


# Pages only read: run on the event loop like the API's reads (see web/api.py).


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, service: ServiceDep) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "home.html",
        {"examples": EXAMPLES, "documents": service.index.doc_count(), "query": ""},
    )


@router.get("/search", response_class=HTMLResponse)
async def search(
    request: Request,
    service: ServiceDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    page: Annotated[int, Query(ge=1, le=100)] = 1,
    all: Annotated[bool, Query(description="the whole ranking, with confidences")] = False,
) -> Response:
    if not q.strip():
        return await home(request, service)
    answer = service.ask(q, page=page, everything=all)
    pages = -(-answer.total // PAGE_SIZE)
    if page > max(pages, 1):  # past the last page: to the last one (a relative address)
        params = {"q": q} | ({"page": pages} if pages > 1 else {}) | ({"all": 1} if all else {})
        return RedirectResponse(f"/search?{urlencode(params)}", 303)
    return templates.TemplateResponse(
        request,
        "results.html",
        {
            "answer": answer,
            "query": q,
            "pages": pages,
            "page_size": PAGE_SIZE,
            "all_param": "&all=1" if all else "",
        },
    )


@router.get("/article/{article_id}", response_class=HTMLResponse)
async def article(request: Request, service: ServiceDep, article_id: str) -> HTMLResponse:
    found: Article | None = service.article(article_id)
    if found is None:
        raise HTTPException(404, "没有这篇文章")
    department = found.department or department_for_text(f"{found.title}\n{found.lead}")
    return templates.TemplateResponse(
        request, "article.html", {"article": found, "department": department, "query": ""}
    )
