"""The predictor app: dynamic batching by (model, agent type) in front of model backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import observability
from observability import ReadinessCheck
from observability.lean import include_first
from predictor.api import ERRORS, router
from predictor.backend_client import BackendClient, backend_policy
from predictor.batcher import BatchKey, KeyedBatcher, KeyLimits
from predictor.service import PredictionService
from predictor.settings import Settings
from predictor.slos import SLOS

LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 30.0)


def key_limits(settings: Settings) -> tuple[KeyLimits, dict[BatchKey, KeyLimits]]:
    """The default knobs and the per-key overrides (`"model/agent_type"` in settings)."""
    defaults = KeyLimits(
        max_batch_size=settings.max_batch_size,
        max_wait_ms=settings.max_wait_ms,
        max_concurrent_batches=settings.max_concurrent_batches,
        max_queue=settings.max_queue,
    )
    overrides: dict[BatchKey, KeyLimits] = {}
    for name, override in settings.key_overrides.items():
        model, _, agent_type = name.partition("/")
        values = {**vars(defaults), **override.model_dump(exclude_none=True)}
        overrides[BatchKey(model, agent_type)] = KeyLimits(**values)
    return defaults, overrides


def create_app(settings: Settings | None = None) -> FastAPI:
    """predictor; with no settings they come from the environment."""
    settings = settings or Settings()
    defaults, overrides = key_limits(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend = BackendClient(
            settings.backend_endpoints,
            routes=settings.route_endpoints,
            policy=backend_policy(settings),
        )
        batcher = KeyedBatcher(
            backend.infer,
            defaults=defaults,
            overrides=overrides,
            max_inflight_calls=settings.max_inflight_calls,
            max_queued_total=settings.max_queued_total,
            max_keys=settings.max_keys,
            idle_s=settings.key_idle_s,
            retry_after_s=settings.retry_after_s,
            on_model_idle=backend.release,
        )
        app.state.predictor = PredictionService(batcher)
        try:
            yield
        finally:
            await batcher.aclose(drain_s=settings.shutdown_grace_s)
            await backend.aclose()

    async def batcher_accepts_work() -> bool:
        return not app.state.predictor.batcher.closed

    app = observability.create_app(
        "predictor",
        settings,
        lifespan=lifespan,
        slos=SLOS,
        latency_buckets=LATENCY_BUCKETS,
        shutdown_grace_s=settings.shutdown_grace_s,
        readiness_checks=[ReadinessCheck("batcher", batcher_accepts_work)],
        description="Dynamic batching by (model, agent type) in front of slow model backends.",
        identity_secrets=settings.identity_secrets,
        errors=ERRORS,
    )
    include_first(app, router)
    return app
