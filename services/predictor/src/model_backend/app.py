"""The mock model server's app: `POST /v1/models/{model}/infer`, `GET /stats`.

Inference stays open (no identity), as the third-party model server this stands in for
would be; `/stats` is read-only. `POST /control/pause|resume` exist only with
`BACKEND_CONTROL_ROUTES=true`: anyone who could reach them could stall every prediction.
"""

from __future__ import annotations

from fastapi import FastAPI

import observability
from model_backend.api import ERRORS, control, router
from model_backend.mock import MockModels
from model_backend.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The mock backend; with no settings they come from the environment."""
    settings = settings or Settings()
    app = observability.create_app(
        "predictor-backend",
        settings,
        description="Mock model server: outputs are row sums, after a simulated latency.",
        errors=ERRORS,
    )
    app.state.models = MockModels(settings)
    app.include_router(router)
    if settings.control_routes:
        app.include_router(control)
    return app
