"""The gateway app: GraphQL + REST edge, built with the shared skeleton."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

import observability
from gateway.api import ERRORS, LIMITS, admin_router, graphql_router, router
from gateway.auth.api_keys import KeyStore
from gateway.auth.guard import EdgeGuard
from gateway.auth.oidc import JwksCache, JwtVerifier, OidcConfig
from gateway.auth.ratelimit import Limit, RateLimiter
from gateway.contract import GRAPHQL_PATH
from gateway.deps import admitted_caller
from gateway.invoke import InvokeService, StaleCache
from gateway.schema import QueryLimits
from gateway.security_headers import SecurityHeadersMiddleware
from gateway.settings import Settings
from gateway.slos import SLOS
from gateway.upstreams import Upstreams
from observability import ReadinessCheck
from observability.edge import BodyLimits

# What a browser on an allowed origin may send and read (CORS).
CORS_METHODS = ["GET", "POST", "PUT", "DELETE"]
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "X-Request-ID", "If-Match"]
CORS_EXPOSED_HEADERS = [
    "X-Request-ID", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
    "Location", "ETag",
]  # fmt: skip


def edge_guard(settings: Settings, http: httpx.AsyncClient) -> EdgeGuard:
    verifier = None
    if settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url:
        config = OidcConfig(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url,
            leeway_s=settings.oidc_leeway_s,
            jwks_ttl_s=settings.oidc_jwks_ttl_s,
            jwks_min_refresh_s=settings.oidc_jwks_min_refresh_s,
        )
        jwks = JwksCache(
            config.jwks_url,
            http,
            ttl_s=config.jwks_ttl_s,
            min_refresh_s=config.jwks_min_refresh_s,
        )
        verifier = JwtVerifier(config, jwks)
    return EdgeGuard(
        mode=settings.auth_mode,
        keys=KeyStore(settings.keys_db),
        jwt=verifier,
        limiter=RateLimiter(),
        identified_limit=Limit(settings.rate_limit_rps, settings.rate_limit_burst),
        anonymous_limit=Limit(settings.anon_rate_limit_rps, settings.anon_rate_limit_burst),
        anonymous_min_deadline_s=settings.anon_min_deadline_s,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway; with no settings they come from the environment (GATEWAY_*)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upstreams = Upstreams.from_settings(settings)
        app.state.upstreams = upstreams
        secret = settings.identity_secret
        app.state.invoke_service = InvokeService(
            upstreams.remote,
            max_input_chars=settings.invoke_max_input_chars,
            cache=StaleCache(settings.stale_cache_size),
            identity_secret=secret.encode() if secret else None,
        )
        async with httpx.AsyncClient() as http:  # the OIDC issuer's JWKS
            app.state.edge = edge_guard(settings, http)
            try:
                yield
            finally:
                await upstreams.aclose()

    async def remote_endpoint_available(app: FastAPI) -> bool:
        # Ready while some replica can take a call: not ejected, and its breaker not open.
        # Ejection alone never empties the set (the last replica is kept), so with one
        # replica the breaker is what says the remote cannot be called.
        remote = app.state.upstreams.remote
        if remote is None or not remote.ready():
            return False
        return any(state != "open" for state in remote.breaker_states().values())

    app = observability.create_app(
        "gateway",
        settings,
        lifespan=lifespan,
        slos=SLOS,
        description="GraphQL + REST edge of the platform, resilient to a flaky upstream.",
        body_limits=BodyLimits(
            max_bytes=max(LIMITS.values()),  # each proxy route enforces its own, lower one
            per_path={GRAPHQL_PATH: settings.graphql_max_body_bytes},
            timeout_s=settings.body_timeout_s,
        ),
        errors=ERRORS,
    )
    if settings.ready_requires_remote:
        app.state.readiness_checks.append(
            ReadinessCheck("remote-endpoint", lambda: remote_endpoint_available(app))
        )
    guarded = [Depends(admitted_caller)]
    limits = QueryLimits(
        max_bytes=settings.graphql_max_query_bytes,
        max_depth=settings.graphql_max_depth,
        max_tokens=settings.graphql_max_tokens,
        max_aliases=settings.graphql_max_aliases,
    )
    app.include_router(graphql_router(limits), dependencies=guarded)
    app.include_router(router, dependencies=guarded)
    if settings.admin_api:
        app.include_router(admin_router, dependencies=guarded)
    if settings.cors_allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allowed_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: every response gets them
    return app
