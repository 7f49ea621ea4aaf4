"""The catalog's Lambda handler: API Gateway HTTP API events (payload 2.0, 1.0 accepted).

    GET /llms[?provider=P]     200 JSON array sorted by score, desc (provider: case-insensitive)
    GET /llms/{model_name}     200 one item, or 404
    other methods on those     405 with Allow
    any other path             404

Errors are RFC 9457 problem details (`application/problem+json`). Responses carry a
strong ETag (If-None-Match → 304), `Cache-Control: public, max-age=<ttl>` plus
`stale-if-error` so CloudFront can shield DynamoDB, and `X-Cache: HIT|MISS|STALE`.

Cold-start discipline: this module imports only the standard library, the observability
lib's stdlib-only Lambda helper and the catalog's own modules; building the default
Catalog at import reads the environment and nothing else. The DynamoDB client is made on
the first cache miss, unless CATALOG_PRIME_AT_INIT=true (SnapStart: work done during
init is in the snapshot, so there the catalog is loaded at init on purpose).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from catalog.cache import CacheState, CatalogCache, Snapshot, encode, etag_of
from catalog.dynamodb import DynamoDBError
from catalog.settings import Settings
from catalog.table import CatalogTable
from observability.aws_lambda import LambdaTelemetry

__all__ = ["Catalog", "Request", "lambda_handler", "parse_event"]

ALLOW = "GET, HEAD"
JSON = "application/json"
PROBLEM = "application/problem+json"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names lower-cased


def _lower(headers: Any) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items() if v is not None}


def parse_event(event: Mapping[str, Any]) -> Request:
    """The request inside an HTTP API event, payload 2.0 or 1.0 (REST API's shape)."""
    context = event.get("requestContext") or {}
    if event.get("version") == "2.0" or "rawPath" in event:
        method = str((context.get("http") or {}).get("method", "GET"))
        path = unquote(str(event.get("rawPath") or "/"))  # rawPath is percent-encoded
    else:
        method = str(event.get("httpMethod", "GET"))
        path = str(event.get("path") or "/")  # 1.0 gives the decoded path
    stage = context.get("stage")
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    query = event.get("queryStringParameters") or {}
    return Request(
        method=method.upper(),
        path=path,
        query={str(k): str(v) for k, v in query.items() if v is not None}
        if isinstance(query, Mapping)
        else {},
        headers=_lower(event.get("headers")),
    )


def _response(
    status: int, body: bytes | str, headers: dict[str, str], *, head: bool = False
) -> dict[str, Any]:
    text = body.decode() if isinstance(body, bytes) else body
    return {
        "statusCode": status,
        "headers": headers,
        "body": "" if head else text,
        "isBase64Encoded": False,
    }


def problem(status: int, title: str, detail: str, **headers: str) -> dict[str, Any]:
    body = encode({"type": "about:blank", "title": title, "status": status, "detail": detail})
    return _response(status, body, {"content-type": PROBLEM, **headers})


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags


class Catalog:
    """One handler instance: settings, table, cache and telemetry (tests build their own)."""

    def __init__(
        self,
        settings: Settings,
        *,
        table: CatalogTable | None = None,
        telemetry: LambdaTelemetry | None = None,
        cache: CatalogCache | None = None,
    ) -> None:
        self.settings = settings
        self.table = table or CatalogTable(settings)
        self.cache = cache or CatalogCache(
            self.table.scan_all,
            ttl_s=settings.cache_ttl_s,
            stale_max_s=settings.stale_max_s,
            error_backoff_s=settings.error_backoff_s,
        )
        self.telemetry = telemetry or LambdaTelemetry("catalog")
        self._cold = True
        max_age = int(settings.cache_ttl_s)
        self._cache_control = (
            f"public, max-age={max_age}, stale-if-error={int(settings.stale_max_s)}"
        )

    def prime(self) -> bool:
        """Load the catalog now (SnapStart init); False, logged, when DynamoDB fails."""
        try:
            snapshot, _ = self.cache.get()
        except DynamoDBError as error:
            self.telemetry.log("prime_failed", level="warning", error=str(error))
            return False
        self.telemetry.log("primed", models=len(snapshot.models))
        return True

    def __call__(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        return self.handle(event, context)

    def handle(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        started = time.perf_counter()
        self.telemetry.bind(getattr(context, "aws_request_id", None))
        cold, self._cold = self._cold, False
        state: CacheState | None = None
        request: Request | None = None
        try:
            request = parse_event(event)
            response, state = self._route(request)
        except Exception as error:  # a bug must still answer with a problem document
            self.telemetry.log(
                "unhandled_error", level="error", error=repr(error), trace=traceback.format_exc()
            )
            response = problem(500, "Internal Server Error", "unexpected error")
        elapsed_ms = (time.perf_counter() - started) * 1000
        status = int(response["statusCode"])
        self.telemetry.log(
            "request",
            method=request.method if request else None,
            path=request.path if request else None,
            status=status,
            cache=state,
            cold_start=cold,
            duration_ms=round(elapsed_ms, 3),
        )
        self.telemetry.metrics(
            {
                "Latency": (elapsed_ms, "Milliseconds"),
                "CacheHit": (int(state == "HIT"), "Count"),
                "CacheMiss": (int(state == "MISS"), "Count"),
                "StaleServed": (int(state == "STALE"), "Count"),
                "Unavailable": (int(status == 503), "Count"),
                "ColdStart": (int(cold), "Count"),
            }
        )
        return response

    def _route(self, request: Request) -> tuple[dict[str, Any], CacheState | None]:
        path = request.path.rstrip("/") or "/"
        parts = path.split("/")  # "/llms/x" -> ["", "llms", "x"]
        if len(parts) not in (2, 3) or parts[1] != "llms" or (len(parts) == 3 and not parts[2]):
            return problem(404, "Not Found", f"no resource at {request.path}"), None
        if request.method not in ("GET", "HEAD"):
            detail = f"{request.method} is not allowed on {path}"
            return problem(405, "Method Not Allowed", detail, allow=ALLOW), None
        try:
            snapshot, state = self.cache.get()
        except DynamoDBError as error:
            self.telemetry.log("dynamodb_unavailable", level="error", error=str(error))
            retry = str(max(1, int(self.settings.error_backoff_s)))
            detail = "the catalog store is unavailable and no cached copy exists"
            headers = {"retry-after": retry, "cache-control": "no-store"}
            return problem(503, "Service Unavailable", detail, **headers), None
        if len(parts) == 3:
            return self._one(request, snapshot, parts[2], state), state
        return self._list(request, snapshot, state), state

    def _ok(self, request: Request, body: bytes, etag: str, state: CacheState) -> dict[str, Any]:
        headers = {"etag": etag, "cache-control": self._cache_control, "x-cache": state}
        if state == "STALE":
            headers["warning"] = '110 - "Response is Stale"'
        if _etag_matches(request.headers.get("if-none-match"), etag):
            return _response(304, "", headers)
        headers["content-type"] = JSON
        return _response(200, body, headers, head=request.method == "HEAD")

    def _list(self, request: Request, snapshot: Snapshot, state: CacheState) -> dict[str, Any]:
        provider = request.query.get("provider", "")
        if not provider:
            return self._ok(request, snapshot.body, snapshot.etag, state)
        wanted = provider.casefold()
        body = encode([m.to_json() for m in snapshot.models if m.provider.casefold() == wanted])
        return self._ok(request, body, etag_of(body), state)

    def _one(
        self, request: Request, snapshot: Snapshot, name: str, state: CacheState
    ) -> dict[str, Any]:
        model = snapshot.by_name.get(name)
        if model is None:
            return problem(404, "Not Found", f"no model named {name!r}")
        body = encode(model.to_json())
        return self._ok(request, body, etag_of(body), state)


_catalog = Catalog(Settings.from_env())
if _catalog.settings.prime_at_init:
    _catalog.prime()


def lambda_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point (`catalog.handler.lambda_handler`)."""
    return _catalog.handle(event, context)
