"""The gateway's HTTP surface: GraphQL at `/graphql`, REST proxies to internal services,
`/slo`, the admin API — and `ERRORS`, the one map from domain exceptions to answers
(passed to `create_app` by `gateway.app`).

Each proxy route says whether its call is idempotent (reads are retried, writes are
not). Every router here is mounted behind the edge guard (`gateway.deps.admitted_caller`):
a route runs only for an admitted caller, whom it can ask for as `Caller`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from cross_web import HTTPException as TransportError
from fastapi import APIRouter, Request, Response
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from gateway.auth.guard import DeadlinePassed, RateLimited
from gateway.auth.oidc import IssuerUnavailable
from gateway.auth.policy import Forbidden, Unauthenticated
from gateway.contract import GRAPHQL_PATH
from gateway.deps import Edge, Forward, Slos, graphql_context
from gateway.invoke import ErrorCode
from gateway.proxy import (
    Forwarded,
    UnsafePath,
    UpstreamCircuitOpen,
    UpstreamDeadlineExceeded,
    UpstreamFailed,
    UpstreamNotConfigured,
    forward,
    upstream_path,
)
from gateway.schema import QueryLimits, build_schema, schema
from observability import ProblemError
from observability.app import ErrorMapping
from observability.slo import observed_error_budgets

# Body size limits per route (bytes): KV values are at most 1 MiB, avatars 5 MiB.
LIMITS = {"dumbkv": 2 * 1024 * 1024, "predictor": 8 * 1024 * 1024, "users": 6 * 1024 * 1024}
DEFAULT_LIMIT = 1024 * 1024


def _unauthenticated(error: Exception) -> ProblemError:
    assert isinstance(error, Unauthenticated)
    headers = {"WWW-Authenticate": error.challenge} if error.challenge else None
    return ProblemError(401, detail=str(error), headers=headers)


def _rate_limited(error: Exception) -> ProblemError:
    assert isinstance(error, RateLimited)
    return ProblemError(429, detail=str(error), headers=error.decision.headers())


def _upstream_failed(status: int) -> ErrorMapping:
    def problem(error: Exception) -> ProblemError:
        assert isinstance(error, UpstreamFailed)
        retry = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return ProblemError(status, detail=str(error), upstream=error.name, headers=retry)

    return problem


def _upstream_not_configured(error: Exception) -> ProblemError:
    assert isinstance(error, UpstreamNotConfigured)
    return ProblemError(503, detail=str(error), upstream=error.name)


ERRORS: dict[type[Exception], ErrorMapping] = {
    # The edge guard's refusals (gateway.auth.guard.Refusal).
    IssuerUnavailable: lambda _: ProblemError(
        503, detail="the identity provider is unavailable", headers={"Retry-After": "5"}
    ),
    RateLimited: _rate_limited,
    Unauthenticated: _unauthenticated,
    Forbidden: 403,
    DeadlinePassed: 504,
    # Proxying to the internal services.
    UnsafePath: lambda _: ProblemError(404, detail="no such resource"),
    UpstreamNotConfigured: _upstream_not_configured,
    UpstreamFailed: _upstream_failed(503),
    UpstreamCircuitOpen: _upstream_failed(503),
    UpstreamDeadlineExceeded: _upstream_failed(504),
}

router = APIRouter()
admin_router = APIRouter(prefix="/_admin", tags=["admin"])


# --- GraphQL -------------------------------------------------------------------------


class GatewayGraphQLRouter(GraphQLRouter[Any, Any]):
    """Adds `extensions.code` and `extensions.requestId` to every error; transport errors
    (strawberry's text/plain 400s) become problem details."""

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().run(*args, **kwargs)
        except TransportError as error:
            raise ProblemError(error.status_code, detail=error.reason) from error

    def decode_json(self, data: str | bytes) -> object:
        # strawberry turns only JSONDecodeError into a 400: invalid UTF-8 and nesting
        # deeper than the parser's recursion limit would be 500s, and a body that is
        # valid JSON but no object (`"x"`) would fail later on `.get`.
        try:
            decoded = json.loads(data)
        except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
            raise TransportError(400, "not valid JSON (or nested too deeply)") from error
        if not isinstance(decoded, dict):
            raise TransportError(400, "a GraphQL request (and its variables) is a JSON object")
        return decoded

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = process_result(result)
        request_id = request.scope.get("state", {}).get("request_id")
        formatted: list[dict[str, Any]] = list(response.get("errors") or [])  # type: ignore[arg-type]
        for original, error in zip(result.errors or [], formatted, strict=False):
            extensions: dict[str, Any] = dict(error.get("extensions") or {})
            if "code" not in extensions:
                if original.path is not None:  # a field failed without saying why: a bug
                    extensions["code"] = "INTERNAL_ERROR"
                    error["message"] = "internal error"  # never leak a bug's message
                else:
                    # No path: a request error, raised before any field ran (syntax,
                    # validation, a variable of the wrong type): the request is wrong.
                    extensions["code"] = ErrorCode.BAD_INPUT.value
            extensions["requestId"] = request_id
            error["extensions"] = extensions
        if formatted:
            response["errors"] = formatted  # type: ignore[typeddict-item]
        return response


def graphql_router(limits: QueryLimits | None = None) -> GatewayGraphQLRouter:
    """`GET/POST /graphql` (GraphiQL on GET), the schema built with `limits`."""
    return GatewayGraphQLRouter(
        build_schema(limits) if limits else schema,
        path=GRAPHQL_PATH,
        graphql_ide="graphiql",
        context_getter=graphql_context,
    )


# --- REST proxies ----------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ProblemError(413, detail=f"request body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProblemError(413, detail=f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _proxy(
    request: Request, to: Forward, name: str, path: str, *, idempotent: bool
) -> Response:
    body = await _read_body(request, LIMITS.get(name, DEFAULT_LIMIT))
    forwarded: Forwarded = await forward(
        name,
        to.services.get(name),
        request.method,
        path,
        body=body,
        params=request.query_params.multi_items(),
        headers=request.headers,
        idempotent=idempotent,
        caller=to.caller,
        identity_secret=to.identity_secret,
    )
    return Response(forwarded.body, status_code=forwarded.status, headers=forwarded.headers)


@dataclass(frozen=True)
class PassThrough:
    """A route forwarded as it is to one path of one service."""

    method: str
    path: str
    service: str
    upstream_path: str
    idempotent: bool
    tag: str
    summary: str
    name: str


PASS_THROUGH = (
    PassThrough("POST", "/api/kv", "dumbkv", "/kv", True, "kv",
                "Read a key (dumbkv POST /kv)", "kv_read"),
    PassThrough("PUT", "/api/kv", "dumbkv", "/kv", False, "kv",
                "Write a key (dumbkv PUT /kv)", "kv_write"),
    PassThrough("DELETE", "/api/kv", "dumbkv", "/kv", True, "kv",
                "Delete a key (dumbkv DELETE /kv)", "kv_delete"),
    PassThrough("POST", "/api/predict", "predictor", "/predict", False, "predict",
                "Batched prediction (predictor)", "predict"),
    PassThrough("GET", "/api/users", "users", "/users", True, "users",
                "List users", "users_list"),
    PassThrough("POST", "/api/users", "users", "/user", False, "users",
                "Create a user (users POST /user)", "users_create"),
    PassThrough("GET", "/api/llms", "catalog", "/llms", True, "llms",
                "List LLMs (catalog)", "llms_list"),
)  # fmt: skip


def _pass_through(route: PassThrough) -> Callable[[Request, Forward], Awaitable[Response]]:
    async def forward(request: Request, to: Forward) -> Response:
        return await _proxy(
            request, to, route.service, route.upstream_path, idempotent=route.idempotent
        )

    return forward


for _route in PASS_THROUGH:
    router.add_api_route(
        _route.path,
        _pass_through(_route),
        methods=[_route.method],
        tags=[_route.tag],
        summary=_route.summary,
        name=_route.name,
    )


@router.api_route(
    "/api/users/{rest:path}", methods=["GET", "PUT", "DELETE"], tags=["users"], summary="Users"
)
async def users_item(request: Request, to: Forward, rest: str) -> Response:
    idempotent = request.method in ("GET", "DELETE")
    return await _proxy(request, to, "users", upstream_path("/users", rest), idempotent=idempotent)


@router.get("/api/llms/{model_name}", tags=["llms"], summary="One LLM (catalog)")
async def llms_item(request: Request, to: Forward, model_name: str) -> Response:
    path = upstream_path("/llms", model_name)
    return await _proxy(request, to, "catalog", path, idempotent=True)


# --- the gateway's own -------------------------------------------------------------------


@router.get("/slo", tags=["slo"], summary="Error budget left, from this replica's counters")
async def slo(slos: Slos) -> dict[str, Any]:
    return {"slos": observed_error_budgets(slos)}


@admin_router.get("/keys", summary="API keys: ids, owners, roles, revocation (no secrets)")
async def admin_keys(edge: Edge) -> dict[str, Any]:
    records = await anyio.to_thread.run_sync(edge.keys.list)
    return {
        "keys": [
            {
                "key_id": record.key_id,
                "owner": record.owner,
                "roles": sorted(record.roles),
                "created_at": record.created_at,
                "revoked_at": record.revoked_at,
            }
            for record in records
        ]
    }
