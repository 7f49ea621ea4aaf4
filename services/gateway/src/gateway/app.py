"""The gateway app: GraphQL + REST edge, built with the shared skeleton."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import observability
from gateway.api import router
from gateway.invoke import InvokeService, StaleCache
from gateway.schema import graphql_router
from gateway.settings import Settings
from gateway.upstreams import Upstreams
from observability import SLO, ReadinessCheck, availability, latency

SLOS = [
    SLO("availability", objective=0.999, sli=availability()),
    SLO("invoke-latency", objective=0.99, sli=latency(2.5, route="/graphql")),
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway; with no settings they come from the environment (GATEWAY_*)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upstreams = Upstreams.from_settings(settings)
        app.state.upstreams = upstreams
        app.state.invoke_service = InvokeService(
            upstreams.remote,
            max_input_chars=settings.invoke_max_input_chars,
            cache=StaleCache(settings.stale_cache_size),
        )
        try:
            yield
        finally:
            await upstreams.aclose()

    async def remote_endpoint_available(app: FastAPI) -> bool:
        remote = app.state.upstreams.remote
        return remote is not None and remote.ready()

    app = observability.create_app(
        "gateway",
        settings,
        lifespan=lifespan,
        slos=SLOS,
        description="GraphQL + REST edge of the platform, resilient to a flaky upstream.",
    )
    if settings.ready_requires_remote:
        app.state.readiness_checks.append(
            ReadinessCheck("remote-endpoint", lambda: remote_endpoint_available(app))
        )
    app.include_router(graphql_router(), prefix="/graphql")
    app.include_router(router)
    return app
