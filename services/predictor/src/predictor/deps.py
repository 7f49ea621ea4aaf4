"""Typed dependencies of the routes: the app's one `PredictionService` (built in its lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from predictor.service import PredictionService


def _service(request: Request) -> PredictionService:
    return request.app.state.predictor


Predictor = Annotated[PredictionService, Depends(_service)]
