"""The catalog's local adapter (`make run`, the gateway's tests): `create_app` around the
Lambda's own `Catalog`, with the platform's /livez, /readyz (the catalog can be served,
fresh or stale), /metrics, /openapi.json and identity check (`PLATFORM_IDENTITY_SECRET`).

FastAPI lives here only: the Lambda imports `catalog.handler`, which imports neither
FastAPI nor pydantic (cold starts), and so it stays.
"""

from __future__ import annotations

import anyio
from fastapi import FastAPI

import observability
from catalog.api import router
from catalog.dynamodb import DynamoDBError
from catalog.handler import Catalog
from catalog.settings import Settings
from catalog.slos import SLOS
from observability import IdentitySettings, ReadinessCheck


def create_app(settings: Settings | None = None) -> FastAPI:
    """The local catalog; with no settings they come from the environment."""
    settings = settings or Settings.from_env()
    catalog = Catalog(settings)

    def readable() -> bool:
        try:
            catalog.cache.get()
        except DynamoDBError:
            return False
        return True

    async def catalog_readable() -> bool:
        return await anyio.to_thread.run_sync(readable)

    app = observability.create_app(
        "catalog",
        description="The LLM catalog (the Lambda's handler, served locally).",
        slos=SLOS,
        readiness_checks=[ReadinessCheck("catalog", catalog_readable, timeout=5.0)],
        # The gateway's signing secrets: pydantic is fine here, never on the Lambda path.
        identity_secrets=IdentitySettings().identity_secrets,
    )
    app.state.catalog = catalog
    app.include_router(router)
    return app
