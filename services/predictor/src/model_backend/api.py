"""model_backend routes: parse, call the mock; the one domain-exception → status map."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from model_backend.deps import Models
from model_backend.mock import NotAMatrix, RowsRejected, SimulatedFailure
from model_backend.models import InferRequest, InferResponse, Stats
from observability import ProblemError
from observability.app import ErrorMapping
from predictor.models import NAME_PATTERN


def _rows_rejected(error: Exception) -> ProblemError:
    assert isinstance(error, RowsRejected)
    return ProblemError(422, detail=str(error), rows=error.rows)


ERRORS: dict[type[Exception], ErrorMapping] = {
    NotAMatrix: 422,
    RowsRejected: _rows_rejected,  # `rows` names them: the caller resends the others
    SimulatedFailure: 500,
}

router = APIRouter()
# Only included with `control_routes` (dev and tests): they stall every prediction.
control = APIRouter(prefix="/control", include_in_schema=False)


@router.post("/v1/models/{model}/infer", response_model=InferResponse)
async def infer(
    model: Annotated[str, Path(pattern=NAME_PATTERN)], body: InferRequest, models: Models
) -> InferResponse:
    return InferResponse(outputs=await models.infer(model, body.agent_type, body.inputs))


@router.get("/stats", response_model=Stats)
async def stats(models: Models) -> Stats:
    return models.stats()


@control.post("/pause", status_code=204)
async def pause(models: Models) -> None:
    """Hold every call (counted on arrival) until /control/resume."""
    models.pause()


@control.post("/resume", status_code=204)
async def resume(models: Models) -> None:
    models.resume()
