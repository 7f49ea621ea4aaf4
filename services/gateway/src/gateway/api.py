"""REST routes of the gateway: proxies to internal services, `/slo`, and the admin API.

Each route says whether its call is idempotent (reads are retried, writes are not).
Every router here is mounted behind the edge guard (gateway.auth.guard), which has put
the admitted caller at `request.state.identity` before a route runs.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request, Response

from gateway.auth.api_keys import KeyStore
from gateway.proxy import (
    Forwarded,
    UnsafePath,
    UpstreamFailed,
    UpstreamNotConfigured,
    forward,
    upstream_path,
)
from observability import ProblemError
from observability.slo import observed_error_budgets

router = APIRouter()
admin_router = APIRouter(prefix="/_admin", tags=["admin"])

# Body size limits per route (bytes): KV values are at most 1 MiB, avatars 5 MiB.
LIMITS = {"dumbkv": 2 * 1024 * 1024, "predictor": 8 * 1024 * 1024, "users": 6 * 1024 * 1024}
DEFAULT_LIMIT = 1024 * 1024


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


def _below(prefix: str, rest: str) -> str:
    try:
        return upstream_path(prefix, rest)
    except UnsafePath as error:
        raise ProblemError(404, detail="no such resource") from error


async def _proxy(request: Request, name: str, path: str, *, idempotent: bool) -> Response:
    body = await _read_body(request, LIMITS.get(name, DEFAULT_LIMIT))
    client = request.app.state.upstreams.services.get(name)
    secret: str | None = request.app.state.settings.identity_secret
    try:
        forwarded: Forwarded = await forward(
            name,
            client,
            request.method,
            path,
            body=body,
            params=request.query_params.multi_items(),
            headers=request.headers,
            idempotent=idempotent,
            caller=request.state.identity,
            identity_secret=secret.encode() if secret else None,
        )
    except UpstreamNotConfigured as error:
        raise ProblemError(503, detail=str(error), upstream=name) from error
    except UpstreamFailed as error:
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        raise ProblemError(
            error.status, detail=str(error), upstream=name, headers=headers
        ) from error
    return Response(forwarded.body, status_code=forwarded.status, headers=forwarded.headers)


@router.post("/api/kv", tags=["kv"], summary="Read a key (dumbkv POST /kv)")
async def kv_read(request: Request) -> Response:
    return await _proxy(request, "dumbkv", "/kv", idempotent=True)


@router.put("/api/kv", tags=["kv"], summary="Write a key (dumbkv PUT /kv)")
async def kv_write(request: Request) -> Response:
    return await _proxy(request, "dumbkv", "/kv", idempotent=False)


@router.delete("/api/kv", tags=["kv"], summary="Delete a key (dumbkv DELETE /kv)")
async def kv_delete(request: Request) -> Response:
    return await _proxy(request, "dumbkv", "/kv", idempotent=True)


@router.post("/api/predict", tags=["predict"], summary="Batched prediction (predictor)")
async def predict(request: Request) -> Response:
    return await _proxy(request, "predictor", "/predict", idempotent=False)


@router.get("/api/users", tags=["users"], summary="List users")
async def users_list(request: Request) -> Response:
    return await _proxy(request, "users", "/users", idempotent=True)


@router.post("/api/users", tags=["users"], summary="Create a user (users POST /user)")
async def users_create(request: Request) -> Response:
    return await _proxy(request, "users", "/user", idempotent=False)


@router.api_route(
    "/api/users/{rest:path}", methods=["GET", "PUT", "DELETE"], tags=["users"], summary="Users"
)
async def users_item(request: Request, rest: str) -> Response:
    idempotent = request.method in ("GET", "DELETE")
    return await _proxy(request, "users", _below("/users", rest), idempotent=idempotent)


@router.get("/api/llms", tags=["llms"], summary="List LLMs (catalog)")
async def llms_list(request: Request) -> Response:
    return await _proxy(request, "catalog", "/llms", idempotent=True)


@router.get("/api/llms/{model_name}", tags=["llms"], summary="One LLM (catalog)")
async def llms_item(request: Request, model_name: str) -> Response:
    return await _proxy(request, "catalog", _below("/llms", model_name), idempotent=True)


@router.get("/slo", tags=["slo"], summary="Error budget left, from this replica's counters")
async def slo(request: Request) -> dict[str, Any]:
    return {"slos": observed_error_budgets(request.app.state.slos)}


@admin_router.get("/keys", summary="API keys: ids, owners, roles, revocation (no secrets)")
async def admin_keys(request: Request) -> dict[str, Any]:
    store: KeyStore = request.app.state.edge.keys
    records = await anyio.to_thread.run_sync(store.list)
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
