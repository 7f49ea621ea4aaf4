"""Forwarding REST calls to internal services through their resilient clients."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from resilience import (
    CircuitOpenError,
    DeadlineExceededError,
    ResilienceError,
    ResilientClient,
)

# Response headers worth passing back to the client (the rest are hop-by-hop or ours).
PASSED_HEADERS = (
    "content-type",
    "location",
    "link",
    "etag",
    "cache-control",
    "retry-after",
    "x-cache",
    "x-stale",
)
FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "if-none-match", "if-match", "x-request-id")
# Services mounted under /api/<name> build their links (Location, Link, avatar_url) from it.
EDGE_PREFIX = "/api"


class UpstreamNotConfigured(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"upstream {name} is not configured (GATEWAY_{name.upper()}_URL)")
        self.name = name


class UpstreamFailed(Exception):
    def __init__(self, name: str, status: int, reason: str, retry_after: int | None) -> None:
        super().__init__(f"upstream {name}: {reason}")
        self.name = name
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Forwarded:
    status: int
    body: bytes
    headers: dict[str, str]


async def forward(
    name: str,
    client: ResilientClient | None,
    method: str,
    path: str,
    *,
    body: bytes,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    idempotent: bool,
) -> Forwarded:
    if client is None:
        raise UpstreamNotConfigured(name)
    outbound = {k: v for k, v in headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS}
    outbound["X-Forwarded-Prefix"] = EDGE_PREFIX
    try:
        response: httpx.Response = await client.request(
            method,
            path,
            content=body or None,
            params=dict(params),
            headers=outbound,
            idempotent=idempotent,
        )
    except CircuitOpenError as error:
        raise UpstreamFailed(name, 503, "circuit open: failing fast", 5) from error
    except DeadlineExceededError as error:
        raise UpstreamFailed(name, 504, "deadline exceeded", None) from error
    except ResilienceError as error:
        raise UpstreamFailed(name, 503, "unavailable", 1) from error
    passed = {k: v for k, v in response.headers.items() if k.lower() in PASSED_HEADERS}
    return Forwarded(response.status_code, response.content, passed)
