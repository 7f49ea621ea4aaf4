"""Typed dependencies of the gateway's routes: what the app holds, and the admitted caller.

The only place that reads `app.state` or the request for them; routes declare what they
need. They are `async` though most never await: FastAPI runs a plain `def` dependency in
its thread pool, a hop to a worker thread and back on every request for a lookup.

The ones on every proxied call (admission, the GraphQL context, forwarding) read
`app.state` themselves instead of through a dependency per fact (each costs FastAPI
work on every request: CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gateway.auth.guard import EdgeGuard
from gateway.schema import Context
from gateway.security_headers import RATELIMIT_STATE
from gateway.upstreams import Upstreams
from identity import Identity
from observability import SLO
from resilience import ResilientClient


async def _edge(request: Request) -> EdgeGuard:
    return request.app.state.edge


async def _slos(request: Request) -> list[SLO]:
    return request.app.state.slos  # the SLOs create_app was given


Edge = Annotated[EdgeGuard, Depends(_edge)]
Slos = Annotated[list[SLO], Depends(_slos)]


async def admitted_caller(request: Request) -> Identity:
    """The edge guard's dependency (on every guarded router): the admitted caller, or the
    guard's refusal raised for `gateway.api`'s exception map to answer.

    The rate-limit headers are left in the request's scope state, where the security
    headers middleware puts them on the answer, refused or not. FastAPI runs a
    dependency once per request, so a route that also asks for the `Caller` gets this
    same admission.
    """
    edge: EdgeGuard = request.app.state.edge
    admission = await edge.admit(
        authorization=request.headers.get("authorization"),
        method=request.method,
        path=request.url.path,
        client_ip=request.client.host if request.client else "unknown",
    )
    if admission.rate_limit is not None:
        request.scope.setdefault("state", {})[RATELIMIT_STATE] = admission.rate_limit.headers()
    if admission.refusal is not None:
        raise admission.refusal
    return admission.caller


Caller = Annotated[Identity, Depends(admitted_caller)]


async def graphql_context(request: Request, caller: Caller) -> Context:
    """What the GraphQL resolvers get (strawberry adds the request and response)."""
    return {"invoke_service": request.app.state.invoke_service, "caller": caller}


@dataclass(frozen=True)
class Forwarding:
    """What a proxied call needs besides the request: the services' clients, the caller
    the edge admitted, and the secret its identity is signed with (None: unsigned)."""

    services: Mapping[str, ResilientClient]
    caller: Identity
    identity_secret: bytes | None


async def _forwarding(request: Request, caller: Caller) -> Forwarding:
    upstreams: Upstreams = request.app.state.upstreams
    secret = request.app.state.settings.identity_secret
    return Forwarding(upstreams.services, caller, secret.encode() if secret else None)


Forward = Annotated[Forwarding, Depends(_forwarding)]
