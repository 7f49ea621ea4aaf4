"""The unreliable upstream's app (built with the shared observability skeleton)."""

from __future__ import annotations

import asyncio
import random
import time

from fastapi import FastAPI

import observability
from remote.api import ERRORS, router
from remote.faults import FaultModel
from remote.settings import Settings
from remote.slos import SLOS

# Open without the gateway's identity: the text page (as the docs are), the counters
# tests, the launcher and benchmarks read from outside, and the chaos control, which
# has its own token and is called by tests, never by the gateway.
OPEN_PATHS = ("/", "/_stats", "/_chaos")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The remote app; with no settings they come from the environment (REMOTE_*)."""
    settings = settings or Settings()
    app = observability.create_app(
        "remote",
        settings,
        slos=SLOS,
        description="A deliberately unreliable upstream for dev, tests and benchmarks.",
        identity_secrets=settings.identity_secrets,
        open_paths=OPEN_PATHS,
        errors=ERRORS,
    )
    rng = random.Random(settings.seed)  # noqa: S311 - fault injection, not cryptography
    app.state.faults = FaultModel(settings, rng=rng, clock=time.monotonic)
    app.state.serial = asyncio.Lock() if settings.serialized else None
    app.include_router(router)
    return app
