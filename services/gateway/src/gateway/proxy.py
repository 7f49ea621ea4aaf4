"""Forwarding REST calls to internal services through their resilient clients.

Only an allow-list of request headers crosses the edge: the client's `Authorization`
stays here, and a client-supplied `X-Platform-Identity` is dropped. With a shared
secret configured, the caller the edge admitted is signed into `X-Platform-Identity`
(`identity.client.SignedCaller`) over exactly what goes on the wire to the service:
method, raw path, query and body, afresh for each attempt, so the header cannot be
replayed against another request or forged by anyone without the secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from identity import Identity
from identity.client import SignedCaller
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


class UnsafePath(ValueError):
    """A client-supplied path segment that would change which upstream route is called."""


def upstream_path(prefix: str, rest: str) -> str:
    """`prefix` + the client's path segments, each percent-encoded; dot segments refused.

    Encoding keeps control characters and spaces from breaking the upstream URL; refusing
    `.` and `..` keeps `/api/users/../metrics` from reaching a route the edge never
    exposed (URL normalisation would otherwise resolve it upstream).
    """
    segments = rest.split("/")
    if any(segment in (".", "..") for segment in segments):
        raise UnsafePath(f"dot segment in {rest!r}")
    return "/".join([prefix.rstrip("/"), *(quote(segment, safe="") for segment in segments)])


class UpstreamNotConfigured(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"upstream {name} is not configured (GATEWAY_{name.upper()}_URL)")
        self.name = name


class UpstreamFailed(Exception):
    """The upstream gave no answer: down or out of tries (its own 4xx/5xx pass through).

    `retry_after` is how many seconds a client should wait before trying again, when
    waiting is what helps.
    """

    reason = "unavailable"
    retry_after: int | None = 1

    def __init__(self, name: str) -> None:
        super().__init__(f"upstream {name}: {self.reason}")
        self.name = name


class UpstreamCircuitOpen(UpstreamFailed):
    """Its breaker is open: failed fast, the upstream was not called."""

    reason = "circuit open: failing fast"
    retry_after = 5


class UpstreamDeadlineExceeded(UpstreamFailed):
    """The call's deadline ran out before an answer came."""

    reason = "deadline exceeded"
    retry_after = None


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
    params: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    idempotent: bool,
    caller: Identity,
    identity_secret: bytes | None,
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
            params=list(params),  # every value of a repeated parameter, in order
            headers=outbound,
            idempotent=idempotent,
            auth=SignedCaller(identity_secret, caller) if identity_secret else None,
        )
    except CircuitOpenError as error:
        raise UpstreamCircuitOpen(name) from error
    except DeadlineExceededError as error:
        raise UpstreamDeadlineExceeded(name) from error
    except ResilienceError as error:
        raise UpstreamFailed(name) from error
    passed = {k: v for k, v in response.headers.items() if k.lower() in PASSED_HEADERS}
    if "location" in passed:
        passed["location"] = edge_location(passed["location"], response.request.url)
    return Forwarded(response.status_code, response.content, passed)


def edge_location(location: str, upstream: httpx.URL) -> str:
    """A `Location` that points into the upstream, as the client must follow it: the
    edge path (`EDGE_PREFIX` + its path). Starlette's slash redirects are absolute URLs
    built from the Host the gateway sent, i.e. the service's internal address; a
    Location elsewhere (a presigned storage URL) passes as it is."""
    target = upstream.join(location)
    if (target.scheme, target.host, target.port) != (upstream.scheme, upstream.host, upstream.port):
        return location
    if target.path.startswith(f"{EDGE_PREFIX}/"):  # already built for the edge
        return target.raw_path.decode("ascii")
    return EDGE_PREFIX + target.raw_path.decode("ascii")
