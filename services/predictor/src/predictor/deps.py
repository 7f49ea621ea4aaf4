"""Typed dependencies of the routes: the app's one `PredictionService` (built in its lifespan).

`async` though it never awaits: FastAPI runs a plain `def` dependency in its thread
pool, a hop to a worker thread and back on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from predictor.service import PredictionService


async def _service(request: Request) -> PredictionService:
    return request.app.state.predictor


Predictor = Annotated[PredictionService, Depends(_service)]
