"""`python -m catalog.local`: the Lambda handler behind a thin ASGI adapter (uvicorn).

For `make run`, the gateway and the tests: every request becomes an HTTP API payload 2.0
event for the very same `Catalog` the Lambda runs, so what runs locally is what ships.
The adapter adds only what a long-running process needs: `/livez`, `/readyz` (the
catalog can be served, fresh or stale), `/metrics` (the process's own, for the local
Prometheus; the Lambda reports to CloudWatch) and `/openapi.json` (hand-written; the
Lambda has no framework to generate it). With `PLATFORM_IDENTITY_SECRET` set (as
`make run` sets it) every other request needs the gateway's signed identity, checked
by the same `identity.VerifyIdentity` as every service's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote

from catalog.dynamodb import DynamoDBError
from catalog.handler import Catalog
from catalog.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_MODEL = {
    "type": "object",
    "required": ["model_name", "provider", "context_window", "score"],
    "properties": {
        "model_name": {"type": "string"},
        "provider": {"type": "string"},
        "context_window": {"type": "integer"},
        "score": {"type": "number"},
    },
}
_PROBLEM = {
    "description": "Problem details (RFC 9457)",
    "content": {
        "application/problem+json": {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                },
            }
        }
    },
}
_NOT_MODIFIED = {"description": "Not modified (If-None-Match matched the ETag)"}
_ETAG_HEADER = {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "catalog", "version": "0.1.0", "description": "The LLM catalog."},
    "paths": {
        "/llms": {
            "get": {
                "operationId": "listModels",
                "summary": "All models, sorted by score (desc)",
                "parameters": [
                    {"name": "provider", "in": "query", "schema": {"type": "string"}},
                    _ETAG_HEADER,
                ],
                "responses": {
                    "200": {
                        "description": "The catalog",
                        "content": {
                            "application/json": {"schema": {"type": "array", "items": _MODEL}}
                        },
                    },
                    "304": _NOT_MODIFIED,
                    "503": _PROBLEM,
                },
            }
        },
        "/llms/{model_name}": {
            "get": {
                "operationId": "getModel",
                "summary": "One model by name",
                "parameters": [
                    {
                        "name": "model_name",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    _ETAG_HEADER,
                ],
                "responses": {
                    "200": {
                        "description": "The model",
                        "content": {"application/json": {"schema": _MODEL}},
                    },
                    "304": _NOT_MODIFIED,
                    "404": _PROBLEM,
                    "503": _PROBLEM,
                },
            }
        },
    },
}


def to_event(scope: Scope) -> dict[str, Any]:
    """An HTTP API payload 2.0 event for one ASGI HTTP request."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
        query[name] = f"{query[name]},{value}" if name in query else value
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(scope["path"])
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": scope.get("query_string", b"").decode("latin-1"),
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


OPEN_PATHS = ("/livez", "/readyz", "/metrics", "/openapi.json")


def create_app(
    catalog: Catalog, *, identity_secrets: Sequence[bytes] = ()
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The ASGI app serving `catalog` (and /livez, /readyz, /metrics, /openapi.json);
    with `identity_secrets`, behind the platform's identity check."""
    openapi = json.dumps(OPENAPI).encode()

    async def reply(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def ready() -> bool:
        try:
            catalog.cache.get()
        except DynamoDBError:
            return False
        return True

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):  # the API takes no body; drain it
            pass
        path, method = scope["path"], scope["method"]
        loop = asyncio.get_running_loop()
        if method == "GET" and path == "/livez":
            await reply(send, 200, {"content-type": "application/json"}, b'{"status":"ok"}')
            return
        if method == "GET" and path == "/readyz":
            ok = await loop.run_in_executor(None, ready)
            body = b'{"status":"ok"}' if ok else b'{"status":"unavailable"}'
            await reply(send, 200 if ok else 503, {"content-type": "application/json"}, body)
            return
        if method == "GET" and path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest  # local only

            await reply(send, 200, {"content-type": CONTENT_TYPE_LATEST}, generate_latest())
            return
        if method == "GET" and path == "/openapi.json":
            await reply(send, 200, {"content-type": "application/json"}, openapi)
            return
        event = to_event(scope)
        context = _Context(event["requestContext"]["requestId"])
        # The handler blocks on DynamoDB: run it off the event loop.
        result = await loop.run_in_executor(None, catalog.handle, event, context)
        await reply(send, result["statusCode"], result["headers"], result["body"].encode())

    if not identity_secrets:
        return app
    from identity import VerifyIdentity  # the `local` extra; the Lambda path never imports it

    return VerifyIdentity(app, secrets=identity_secrets, open_paths=OPEN_PATHS)


def main() -> None:
    from identity import secrets_from_env
    from observability import (
        ServerLimits,
        serve,
    )  # runs uvicorn: the `local` extra, never on Lambda

    settings = Settings.from_env()
    app = create_app(Catalog(settings), identity_secrets=secrets_from_env())
    serve(app, host=settings.host, port=settings.port, limits=ServerLimits.internal())


if __name__ == "__main__":
    main()
