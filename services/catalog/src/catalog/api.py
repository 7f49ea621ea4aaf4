"""The local adapter's routes: each request is handed, as an HTTP API payload 2.0 event, to
the very `Catalog` the Lambda runs, so what runs locally is what ships (status codes,
ETags, problem details and all come from `handler.py`, the one place that decides them).
The routes exist for the OpenAPI document and the typed parameters; no error map here:
the handler answers its own errors.
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

import anyio
from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel

from catalog.deps import CatalogDep
from catalog.handler import Catalog


class Model(BaseModel):
    model_name: str
    provider: str
    context_window: int
    score: float


_PROBLEM = {"description": "Problem details (RFC 9457)"}
_NOT_MODIFIED = {"description": "Not modified (If-None-Match matched the ETag)"}
IfNoneMatch = Annotated[str | None, Header(description="an ETag from an earlier answer")]

router = APIRouter()


def to_event(request: Request) -> dict[str, Any]:
    """An HTTP API payload 2.0 event for one request, as API Gateway builds it."""
    scope = request.scope
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    raw_query = scope.get("query_string", b"").decode("latin-1")
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query):
        query[name] = f"{query[name]},{value}" if name in query else value
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(scope["path"])
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "queryStringParameters": query or None,
        "requestContext": {
            "http": {"method": scope["method"], "path": scope["path"]},
            "stage": "$default",
            "requestId": f"local-{time.time_ns()}",
        },
        "isBase64Encoded": False,
    }


class _Context:
    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id


async def _handle(catalog: Catalog, request: Request) -> Response:
    event = to_event(request)
    context = _Context(event["requestContext"]["requestId"])
    # The handler blocks on DynamoDB: run it off the event loop.
    result = await anyio.to_thread.run_sync(catalog.handle, event, context)
    return Response(
        content=result["body"].encode(), status_code=result["statusCode"], headers=result["headers"]
    )


@router.get(
    "/llms",
    operation_id="listModels",
    summary="All models, sorted by score (desc)",
    response_model=list[Model],
    responses={304: _NOT_MODIFIED, 503: _PROBLEM},
)
async def list_models(
    request: Request,
    catalog: CatalogDep,
    provider: str | None = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return await _handle(catalog, request)


@router.get(
    "/llms/{model_name}",
    operation_id="getModel",
    summary="One model by name",
    response_model=Model,
    responses={304: _NOT_MODIFIED, 404: _PROBLEM, 503: _PROBLEM},
)
async def get_model(
    model_name: str, request: Request, catalog: CatalogDep, if_none_match: IfNoneMatch = None
) -> Response:
    return await _handle(catalog, request)


# HEAD as the Lambda answers it (headers, no body); left out of the schema.
router.add_api_route("/llms", list_models, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/llms/{model_name}", get_model, methods=["HEAD"], include_in_schema=False)
