"""The dumbkv app: same API as the original DumbKV, none of its defects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import observability
from dumbkv.api import BODY_LIMIT, ERRORS, pages, router
from dumbkv.kv import KeyValueService
from dumbkv.pepper import load_pepper
from dumbkv.purge import purging
from dumbkv.settings import Settings
from dumbkv.slos import SLOS
from dumbkv.store import Store
from observability import ReadinessCheck
from observability.edge import BodyLimits
from observability.lean import include_first

# The UI page (it holds no data: its calls go to /kv) and the original's health check.
OPEN_PATHS = ("/", "/health")


def create_app(settings: Settings | None = None) -> FastAPI:
    """dumbkv; with no settings they come from the environment."""
    settings = settings or Settings()
    pepper = load_pepper(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store.open(
            settings.database_type, settings.database_location, pool_size=settings.pool_size
        )
        try:
            await store.migrate()  # a fresh database just works
            app.state.kv = KeyValueService(
                store, pepper=pepper, max_value_bytes=settings.max_value_bytes
            )
            async with purging(
                store, interval_s=settings.purge_interval_s, batch_size=settings.purge_batch_size
            ):
                yield
        finally:
            await store.close()

    async def database_answers() -> None:
        await app.state.kv.store.ping()

    app = observability.create_app(
        "dumbkv",
        settings,
        lifespan=lifespan,
        slos=SLOS,
        readiness_checks=[ReadinessCheck("database", database_answers, timeout=2.0)],
        description="Encrypted key-value store (drop-in for DumbKV), SQLite or Postgres.",
        identity_secrets=settings.identity_secrets,
        open_paths=OPEN_PATHS,
        errors=ERRORS,
        body_limits=BodyLimits(max_bytes=BODY_LIMIT),
    )
    include_first(app, router)  # the data routes: matched first, directly
    app.include_router(pages)
    return app
