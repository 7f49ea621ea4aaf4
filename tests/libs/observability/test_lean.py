"""LeanRoute answers every request exactly as FastAPI's own route does, and serves the
ordinary ones without FastAPI's handler."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from observability import ProblemError, create_app
from observability.lean import LeanRoute, include_first


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=8)
    count: int = Field(default=0, ge=0)
    ratio: float | None = None


class Missing(Exception):
    pass


async def who(request: Request) -> str:
    if "x-deny" in request.headers:
        raise ProblemError(403, detail="denied")
    return request.headers.get("x-who", "anonymous")


Who = Annotated[str, Depends(who)]


def build(route_class: type[APIRoute]) -> tuple[FastAPI, APIRouter]:
    router = APIRouter(route_class=route_class)

    @router.put("/items", responses={404: {}})
    async def put_item(
        item: Item,
        caller: Who,
        request: Request,
        force: Annotated[bool, Query(description="replace")] = False,
        limit: Annotated[int | None, Query(ge=1)] = None,
        if_match: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        if item.name == "gone":
            raise Missing("no such item")
        answer = {"item": item.model_dump(), "caller": caller, "force": force, "limit": limit,
                  "if_match": if_match, "path": request.url.path}  # fmt: skip
        return JSONResponse(answer, headers={"ETag": '"v1"'})

    @router.get("/items")
    async def list_items(caller: Who) -> JSONResponse:
        return JSONResponse({"caller": caller})

    app = create_app("lean-test", errors={Missing: 404})
    include_first(app, router)
    return app, router


Clients = tuple[httpx.AsyncClient, httpx.AsyncClient, APIRouter]


@pytest.fixture
async def apps() -> AsyncIterator[Clients]:
    """The same routes as FastAPI's own (`plain`) and as LeanRoutes (`lean`)."""
    fastapi_app, _ = build(APIRoute)
    lean_app, lean_router = build(LeanRoute)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(fastapi_app), base_url="http://t") as plain,
        httpx.AsyncClient(transport=httpx.ASGITransport(lean_app), base_url="http://t") as lean,
    ):
        yield plain, lean, lean_router


JSON = {"content-type": "application/json"}
CASES: dict[str, dict[str, Any]] = {
    "valid": {"content": b'{"name": "a", "count": 2}', "headers": JSON},
    "defaults": {"content": b'{"name": "a"}', "headers": JSON},
    "coerced number": {"content": b'{"name": "a", "count": "3", "ratio": 1}', "headers": JSON},
    "query and header": {
        "content": b'{"name": "a"}',
        "params": {"force": "yes", "limit": "4"},
        "headers": {**JSON, "If-Match": '"v3"'},
    },
    "repeated query": {"content": b'{"name": "a"}', "params": [("force", "1"), ("force", "0")]},
    "bad query": {"content": b'{"name": "a"}', "params": {"force": "maybe"}, "headers": JSON},
    "blank query": {"content": b'{"name": "a"}', "params": {"force": ""}, "headers": JSON},
    "query out of range": {"content": b'{"name": "a"}', "params": {"limit": "0"}, "headers": JSON},
    "charset": {
        "content": b'{"name": "a"}',
        "headers": {"content-type": "application/json; charset=utf-8"},
    },
    "json suffix": {
        "content": b'{"name": "a"}',
        "headers": {"content-type": "application/merge-patch+json"},
    },
    "text content type": {"content": b'{"name": "a"}', "headers": {"content-type": "text/plain"}},
    "no content type": {"content": b'{"name": "a"}', "headers": {}},
    "empty body": {"content": b"", "headers": JSON},
    "invalid json": {"content": b'{"name": ', "headers": JSON},
    "not utf-8": {"content": b'{"name": "\xff"}', "headers": JSON},
    "array": {"content": b"[1, 2]", "headers": JSON},
    "extra field": {"content": b'{"name": "a", "colour": "red"}', "headers": JSON},
    "too long": {"content": b'{"name": "abcdefghij"}', "headers": JSON},
    "wrong type": {"content": b'{"name": 5}', "headers": JSON},
    "lone surrogate": {"content": b'{"name": "\\ud800"}', "headers": JSON},
    "dependency refuses": {"content": b'{"name": "a"}', "headers": {**JSON, "X-Deny": "1"}},
    "dependency refuses a bad body": {
        "content": b'{"name": ""}',
        "headers": {**JSON, "X-Deny": "1"},
    },
    "domain error": {"content": b'{"name": "gone"}', "headers": {**JSON, "X-Who": "ana"}},
}


def _answer(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    body: Any = response.content
    if response.headers.get("content-type", "").endswith("json"):
        body = json.loads(response.content)
        if isinstance(body, dict):
            body.pop("request_id", None)
    return response.status_code, headers, body


@pytest.mark.parametrize("case", list(CASES))
async def test_lean_route_answers_as_fastapi_does(apps: Clients, case: str) -> None:
    plain, lean, _ = apps

    expected = await plain.put("/items", **CASES[case])
    answered = await lean.put("/items", **CASES[case])

    assert _answer(answered) == _answer(expected)


async def test_a_route_without_a_body_answers_as_fastapi_does(apps: Clients) -> None:
    plain, lean, _ = apps

    for headers in ({"X-Who": "bo"}, {"X-Deny": "1"}):
        expected = await plain.get("/items", headers=headers)
        assert _answer(await lean.get("/items", headers=headers)) == _answer(expected)


async def test_ordinary_requests_skip_fastapis_handler_and_the_rest_reach_it(
    apps: Clients,
) -> None:
    _, lean, router = apps
    route = next(
        r for r in router.routes if isinstance(r, LeanRoute) and "PUT" in (r.methods or ())
    )
    referred: list[str] = []
    fastapi_handler = route._fastapi

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        referred.append(scope["path"])
        await fastapi_handler(scope, receive, send)

    route._fastapi = counting
    try:
        ordinary = await lean.put("/items", **CASES["query and header"])
        refused = await lean.put("/items", **CASES["extra field"])
    finally:
        route._fastapi = fastapi_handler

    assert (ordinary.status_code, refused.status_code) == (200, 422)
    assert referred == ["/items"]  # the refused one only


def test_include_first_puts_the_routes_before_the_apps_own() -> None:
    app, router = build(LeanRoute)

    assert app.routes[: len(router.routes)] == router.routes
    assert "/items" in app.openapi()["paths"]


def sync_dependency(request: Request) -> str:
    return "x"


async def nested(value: Annotated[str, Depends(sync_dependency)]) -> str:
    return value


async def by_path(item_id: int) -> JSONResponse:
    return JSONResponse({})


async def with_sync_dependency(value: Annotated[str, Depends(sync_dependency)]) -> JSONResponse:
    return JSONResponse({})


async def with_nested_dependency(value: Annotated[str, Depends(nested)]) -> JSONResponse:
    return JSONResponse({})


def sync_endpoint(item: Item) -> JSONResponse:
    return JSONResponse({})


async def two_bodies(item: Item, other: Item) -> JSONResponse:
    return JSONResponse({})


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/i/{item_id}", by_path),
        ("/s", with_sync_dependency),
        ("/n", with_nested_dependency),
        ("/e", sync_endpoint),
        ("/b", two_bodies),
    ],
)
def test_unsupported_declarations_are_refused_when_defined(path: str, endpoint: Any) -> None:
    router = APIRouter(route_class=LeanRoute)

    with pytest.raises(TypeError, match="use an APIRoute"):
        router.add_api_route(path, endpoint, methods=["POST"])


def test_include_first_refuses_a_router_with_a_prefix() -> None:
    app = FastAPI()

    with pytest.raises(TypeError):
        include_first(app, APIRouter(prefix="/v1", route_class=LeanRoute))
