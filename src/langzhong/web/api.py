"""JSON API: search, articles, operators' writes (bearer token), health."""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, Security
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from langzhong.core import ID_PATTERN, Answer, Article, ArticleContent
from langzhong.ingest.fingerprint import article_id
from langzhong.service import SameContent, Service
from langzhong.web.metrics import answered

log = logging.getLogger(__name__)
router = APIRouter(prefix="", tags=["api"])
MAX_QUERY_CHARS = 500


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


# Writes need ``Authorization: Bearer <LANGZHONG_API_TOKEN>``. The token is checked by
# web/limits.py before the body is read; this declares the scheme in the OpenAPI spec.
BEARER = Security(HTTPBearer(auto_error=False, description="LANGZHONG_API_TOKEN"))
ArticleIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="The article's id")]


class Problem(BaseModel):
    """What every error answer holds."""

    detail: str


Responses = dict[int | str, dict[str, Any]]  # the OpenAPI spec's error answers of a route
UNAVAILABLE: Responses = {
    503: {"model": Problem, "description": "A shared store is down: try again"}
}
NOT_FOUND: Responses = {404: {"model": Problem, "description": "No article with that id"}}
WRITE_ERRORS: Responses = {
    400: {"model": Problem, "description": "The body is not JSON"},
    401: {"model": Problem, "description": "Missing or wrong bearer token"},
    403: {"model": Problem, "description": "Writes disabled: no token configured"},
    413: {"model": Problem, "description": "Request body too large"},
    **UNAVAILABLE,
}
PUT_ERRORS: Responses = WRITE_ERRORS | {
    409: {"model": Problem, "description": "The same article is stored under another id"}
}
SEARCH_ERRORS: Responses = {
    429: {"model": Problem, "description": "Too many searches from this client"},
    **UNAVAILABLE,
}

# A character that is white space in neither Python's regular expressions nor JSON Schema's
# (ECMA): they disagree on \x1c-\x1f, \x85 and \ufeff, and a client must be able to trust the
# schema (schemathesis found a title of \x1c that the schema allowed and the server refused).
VISIBLE = r"[^\s\x1c-\x1f\x85\ufeff]"
# A lead with text, or at least one section: in the schema too, so clients can see the rule.
HAS_TEXT: JsonDict = {
    "anyOf": [
        {"required": ["lead"], "properties": {"lead": {"pattern": VISIBLE}}},
        {"required": ["sections"], "properties": {"sections": {"minItems": 1}}},
    ]
}


class ArticleIn(ArticleContent):
    """An article as an operator sends it; the id is derived from source and title if absent."""

    model_config = ConfigDict(frozen=True, json_schema_extra=HAS_TEXT)

    title: str = Field(min_length=1, max_length=200, pattern=VISIBLE)

    @model_validator(mode="after")
    def _has_text(self) -> ArticleIn:
        if not re.search(VISIBLE, self.lead) and not self.sections:
            raise ValueError("an article needs a lead or sections")
        return self

    def to_article(self, id: str | None = None) -> Article:
        return Article(id=id or article_id(self.source, self.title), **self.model_dump())


# Reads are defined ``async``: they run on the worker's event loop rather than in its thread
# pool. They are a few milliseconds of CPU, a worker has one core, and a thread hop only adds
# hand-offs of Python's lock between threads (at 1M documents, 7.5 → 6.5 ms of CPU a search).
# Writes stay in the thread pool: they may wait for the index or the database.


@router.get("/api/search", response_model=Answer, responses=SEARCH_ERRORS)
async def search(
    service: ServiceDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
    page: Annotated[int, Query(ge=1, le=100)] = 1,
    all: Annotated[
        bool, Query(description="The whole ranking (up to 100), each hit with its confidence.")
    ] = False,
) -> Answer:
    """Answer a question: the confident hits with passages, red flags, department, and whether
    it abstained (``all=true``: every ranked hit, page by page)."""
    answer = service.asking.ask(q, page=page, everything=all)
    answered(answer)
    return answer


@router.get("/api/articles/{article_id}", response_model=Article, responses=NOT_FOUND)
async def get_article(service: ServiceDep, article_id: ArticleIdPath) -> Article:
    return _found(service, article_id)


def _found(service: Service, article_id: str) -> Article:
    """The stored article (404 where there is none, as after another request deleted it)."""
    article = service.asking.article(article_id)
    if article is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    return article


@router.post(
    "/api/articles",
    response_model=Article,
    status_code=201,
    dependencies=[BEARER],
    responses=WRITE_ERRORS,
)
def create_article(service: ServiceDep, body: ArticleIn) -> Article:
    _, stored_id = service.writing.put_article(body.to_article())
    return _found(service, stored_id)


@router.put(
    "/api/articles/{article_id}",
    response_model=Article,
    dependencies=[BEARER],
    responses=PUT_ERRORS | {201: {"model": Article, "description": "Stored under a new id"}},
)
def replace_article(
    service: ServiceDep, article_id: ArticleIdPath, body: ArticleIn, response: Response
) -> Article:
    """Store the article under this id, replacing what it held (201 when the id was new)."""
    try:
        outcome, stored_id = service.writing.put_article(body.to_article(article_id), keep_id=True)
    except SameContent as same:
        raise HTTPException(409, f"the same article is stored as {same.args[0]!r}") from None
    if outcome == "added":
        response.status_code = 201
    return _found(service, stored_id)


@router.delete(
    "/api/articles/{article_id}",
    status_code=204,
    dependencies=[BEARER],
    responses=WRITE_ERRORS | NOT_FOUND,
)
def delete_article(service: ServiceDep, article_id: ArticleIdPath) -> Response:
    if not service.writing.delete_article(article_id):
        raise HTTPException(404, f"no article with id {article_id!r}")
    return Response(status_code=204)


class Health(BaseModel):
    """Whether this server can answer, and each dependency's state."""

    status: str = Field(description='"ok", or "unavailable" when a dependency is down')
    store: str = Field(description='"ok" or "down" (why is in the server\'s log)')
    index: str = Field(description='"ok" or "down" (why is in the server\'s log)')
    indexed_documents: int | None = Field(description="None while the index is down")


@router.get(
    "/healthz",
    responses={503: {"model": Health, "description": "A dependency is down (see its field)"}},
)
def healthz(service: ServiceDep, response: Response) -> Health:
    # A blocking round trip to a shared store: not on the event loop.
    checks = service.admin.health()
    healthy = all(state == "ok" for state in checks.values())
    if not healthy:
        response.status_code = 503
    for part, state in checks.items():
        if state != "ok":  # why (an address, a user name) for the log, not for the public
            log.warning("healthz: the %s is %s", part, state)
    return Health(
        status="ok" if healthy else "unavailable",
        indexed_documents=service.index.doc_count() if checks["index"] == "ok" else None,
        **{part: "ok" if state == "ok" else "down" for part, state in checks.items()},
    )
