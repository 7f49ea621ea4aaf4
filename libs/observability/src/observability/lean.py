"""`LeanRoute`: a FastAPI route whose ordinary request skips FastAPI's request path.

Why by hand: FastAPI 0.165 spends about half of a small JSON request in its own
machinery (matching through included routers, `solve_dependencies`, body handling,
request and response wrapping: profiled on dumbkv's `POST /kv`), more than the
encryption, the database and the telemetry together. No FastAPI option removes it, and
moving the hot routes to another framework would lose the one declaration that gives
their OpenAPI entry, their validation and their error answers.

So a `LeanRoute` is declared as any route (`APIRouter(route_class=LeanRoute)`) and
keeps all of that: FastAPI builds its schema and its handler as usual. A request is
served by the lean path only when FastAPI would accept it as is: a JSON body that parses
and validates against the body model, query and header parameters that validate. It
then runs the route's dependencies and endpoint itself, with the same values FastAPI
would pass (validated by FastAPI's own fields). Everything else (a bad body, an unknown
content type, a missing parameter, a dependency override) goes to FastAPI's own handler,
with the body already read, so every 4xx answer is FastAPI's, word for word.

What a lean route may declare (checked when it is defined, `TypeError` otherwise): an
`async` endpoint that returns a `Response`; at most one body parameter, a pydantic model
(not embedded, not a form); query and header parameters with one name each (no
validation aliases); the `Request`; dependencies that are `async` functions of the
`Request` alone (or of nothing). They must have no side effects: on a request FastAPI
answers they may run twice, once on the lean path and once in FastAPI's.

`include_first(app, router)` puts a router's routes at the front of the app's own list
instead of behind an included router, so the hot routes are matched first and directly.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response, params
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from identity.starlette import read_body, replaying

if TYPE_CHECKING:
    from fastapi._compat import ModelField

_UNSET = object()


class _Refer(Exception):
    """This request is for FastAPI's own handler to answer."""


@dataclass(frozen=True)
class _Param:
    field: ModelField
    key: str  # the query key, or the lower-case header name

    def value(self, received: Mapping[str, str]) -> Any:
        raw = received.get(self.key, _UNSET)
        if raw is _UNSET:  # as FastAPI: a default unless required
            if self.field.field_info.is_required():
                raise _Refer
            default = deepcopy(self.field.default)
            if not self.field.field_info.validate_default:
                return default
            raw = default
        value, errors = self.field.validate(raw, {}, loc=())
        if errors:
            raise _Refer
        return value


@dataclass(frozen=True)
class _Plan:
    """What the endpoint is called with, resolved once when the route is defined."""

    body: ModelField | None
    query: tuple[_Param, ...]
    headers: tuple[_Param, ...]
    request_name: str | None
    # (name, call, whether it takes the Request): called with it, or with nothing.
    dependencies: tuple[tuple[str, Callable[..., Any], bool], ...]


def _unsupported(route: APIRoute, why: str) -> TypeError:
    return TypeError(f"LeanRoute {route.path} ({route.name}): {why}; use an APIRoute")


def _plan(route: APIRoute) -> _Plan:
    dependant = route.dependant
    if not inspect.iscoroutinefunction(route.endpoint):
        raise _unsupported(route, "the endpoint must be async")
    if dependant.path_params or dependant.cookie_params:
        raise _unsupported(route, "path and cookie parameters are not supported")
    if (
        dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
    ):
        raise _unsupported(route, "only the Request may be injected")
    body = None
    if dependant.body_params:
        body = dependant.body_params[0]
        model = body.field_info.annotation
        embedded = route._embed_body_fields
        if len(dependant.body_params) > 1 or embedded or not _is_model(model):
            raise _unsupported(route, "the body must be one pydantic model, not embedded")
        if isinstance(body.field_info, params.Form):  # File is a Form
            raise _unsupported(route, "form bodies are not supported")
    dependencies = []
    for sub in dependant.dependencies:
        call = sub.call
        if call is None or not inspect.iscoroutinefunction(call):
            raise _unsupported(route, "dependencies must be async functions")
        has_own_params = (
            sub.dependencies
            or sub.path_params
            or sub.query_params
            or sub.header_params
            or sub.cookie_params
            or sub.body_params
            or sub.response_param_name
            or sub.background_tasks_param_name
            or sub.security_scopes_param_name
        )
        if has_own_params or sub.name is None:
            raise _unsupported(route, f"dependency {call.__name__} may take only the Request")
        dependencies.append((sub.name, call, sub.request_param_name is not None))
    return _Plan(
        body=body,
        query=tuple(_Param(f, _plain_alias(route, f)) for f in dependant.query_params),
        headers=tuple(_Param(f, _plain_alias(route, f).lower()) for f in dependant.header_params),
        request_name=dependant.request_param_name,
        dependencies=tuple(dependencies),
    )


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _plain_alias(route: APIRoute, field: ModelField) -> str:
    """The one request key FastAPI reads the parameter from (a header's alias already
    has its underscores converted)."""
    if field.field_info.validation_alias is not None:
        raise _unsupported(route, f"parameter {field.name} has validation aliases")
    return field.alias


def _is_json(content_type: str | None) -> bool:
    """As FastAPI decides (maintype application, subtype json or +json)."""
    if not content_type:
        return False
    maintype, _, subtype = content_type.partition(";")[0].strip().lower().partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


class LeanRoute(APIRoute):
    """An `APIRoute` that serves its ordinary requests without FastAPI's request path;
    see the module docstring for what it may declare and when FastAPI answers."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self._plan = _plan(self)
        self._fastapi = self.app  # FastAPI's handler: every request off the lean path
        self.app = self._serve

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        plan = self._plan
        body = b""
        if plan.body is not None:
            read = await read_body(receive)
            if read is None:
                return  # the client went away: nobody to answer
            body = read
            receive = replaying(body, receive)
        try:
            values = self._values(scope, body)
        except _Refer:
            await self._fastapi(scope, receive, send)
            return
        request = Request(scope, receive, send)
        if plan.request_name is not None:
            values[plan.request_name] = request
        for name, call, wants_request in plan.dependencies:
            values[name] = await (call(request) if wants_request else call())
        response = await self.endpoint(**values)
        if not isinstance(response, Response):
            raise TypeError(f"LeanRoute {self.path}: the endpoint must return a Response")
        await response(scope, receive, send)

    def _values(self, scope: Scope, body: bytes) -> dict[str, Any]:
        """The endpoint's validated arguments, or `_Refer` for anything FastAPI must
        answer (or might answer differently)."""
        plan = self._plan
        provider = self.dependency_overrides_provider
        if provider is not None and getattr(provider, "dependency_overrides", None):
            raise _Refer  # overrides (tests): FastAPI's resolution applies them
        values: dict[str, Any] = {}
        headers: dict[str, str] | None = None
        if plan.headers or plan.body is not None:
            headers = {}  # as Starlette's Headers: latin-1, the first one wins
            for name, value in scope["headers"]:
                headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        if plan.body is not None:
            assert headers is not None
            if not body or not _is_json(headers.get("content-type")):
                raise _Refer
            try:
                document = json.loads(body)
            except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
                raise _Refer from None
            model, errors = plan.body.validate(document, {}, loc=())
            if errors:
                raise _Refer
            values[plan.body.name] = model
        if plan.query:
            # As Starlette's QueryParams: latin-1, blank values kept, the last one wins.
            query = scope["query_string"].decode("latin-1")
            received = dict(parse_qsl(query, keep_blank_values=True))
            for param in plan.query:
                values[param.field.name] = param.value(received)
        for param in plan.headers:
            assert headers is not None
            values[param.field.name] = param.value(headers)
        return values


def include_first(app: FastAPI, router: APIRouter) -> None:
    """Put `router`'s routes at the front of `app`'s own routes, so its hot routes are
    matched first and directly (not through an included router). No prefix, tags or
    router dependencies: a router with any is refused."""
    if router.prefix or router.dependencies or router.tags:
        raise TypeError("include_first takes a router without prefix, dependencies or tags")
    app.router.routes[:0] = router.routes
    app.openapi_schema = None
