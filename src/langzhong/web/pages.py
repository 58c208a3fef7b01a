"""Server-rendered pages: home, results, article. They work without JavaScript."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from langzhong.answer.compose import PAGE_SIZE
from langzhong.core import Article
from langzhong.knowledge.cards import card, entity_url
from langzhong.knowledge.graph import SOURCE
from langzhong.service import Service
from langzhong.triage.department import department_for_text, department_from_knowledge, site_name
from langzhong.triage.guide import article_guides
from langzhong.web.api import MAX_QUERY_CHARS, get_service
from langzhong.web.metrics import answered
from langzhong.web.origin import cross_site
from langzhong.web.typography import display, marked

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
EXAMPLES = (
    "微创手术后腰酸是怎么回事",
    "腰突然直不起来",
    "高血压能吃党参吗",
    "拉肚子好几天了怎么办",
)


templates.env.filters["marked"] = marked
templates.env.filters["display"] = display
templates.env.globals["entity_url"] = entity_url
ServiceDep = Annotated[Service, Depends(get_service)]


# Pages that only read run on the event loop like the API's reads (see web/api.py); the
# feedback form writes, so it runs in the thread pool.


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
    answer = service.asking.ask(q, page=page, everything=all)
    answered(answer)
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


async def _body(request: Request) -> bytes:
    return await request.body()


def _from_this_site(request: Request) -> None:
    """Another site's page must not fill the feedback that ``feedback eval`` reads as
    relevance judgements (checked before the body is read)."""
    if cross_site(request.headers):
        raise HTTPException(403, "cross-site form posts are refused")


@router.post("/feedback", dependencies=[Depends(_from_this_site)])
def feedback(service: ServiceDep, body: Annotated[bytes, Depends(_body)]) -> Response:
    """A reader's 「这个回答有帮助吗？」 (a plain form), stored without anything that identifies
    them; back to the page it came from."""
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    article_id, helpful = form.get("article", ""), form.get("helpful")
    question = form.get("q", "").strip()[:MAX_QUERY_CHARS]
    if helpful not in ("yes", "no") or service.asking.article(article_id) is None:
        raise HTTPException(422, "不是有效的反馈")
    service.asking.add_feedback(question, article_id, helpful == "yes")
    back = urlsplit(form.get("next", "/"))
    path = back.path if back.path.startswith("/") and not back.path.startswith("//") else "/"
    query = [(k, v) for k, v in parse_qsl(back.query) if k != "feedback"] + [("feedback", "1")]
    return RedirectResponse(f"{path}?{urlencode(query)}", 303)


@router.get("/article/{article_id}", response_class=HTMLResponse)
async def article(
    request: Request,
    service: ServiceDep,
    article_id: str,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
) -> HTMLResponse:
    """An article; ``q``: the search it was opened from, for the way back."""
    found: Article | None = service.asking.article(article_id)
    if found is None:
        raise HTTPException(404, "没有这篇文章")
    department = site_name(found.department) if found.department else None
    department = department or department_for_text(f"{found.title}\n{found.lead}")
    return templates.TemplateResponse(
        request,
        "article.html",
        {
            "article": found,
            "department": department,
            "query": q.strip(),
            "guides": article_guides(found),
            "related_questions": service.asking.related_questions(found),
            "entities": service.asking.mentioned_entities(found),
        },
    )


@router.get("/entity/{name}", response_class=HTMLResponse)
async def entity(request: Request, service: ServiceDep, name: str) -> HTMLResponse:
    """All the knowledge graph says of an illness or drug, and the articles about it."""
    found = service.asking.entity(name)
    if found is None:
        raise HTTPException(404, "知识图谱里没有这个条目")
    return templates.TemplateResponse(
        request,
        "entity.html",
        {
            "entity": found,
            "department": department_from_knowledge([card(found)]),
            "source": SOURCE,
            "articles": service.asking.entity_articles(found),
            "query": "",
        },
    )
