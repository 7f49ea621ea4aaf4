"""predictor routes: parse, call the service, map its outcomes to statuses in one place."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from observability import ProblemError
from observability.app import ErrorMapping
from observability.lean import LeanRoute
from predictor.batcher import AgentFailure, QueueFull, ShuttingDown
from predictor.deps import Predictor
from predictor.models import PredictRequest, PredictResponse
from predictor.service import AgentInput, AgentOutcome, DimensionMismatch

CLIENT_CLOSED_REQUEST = 499  # nginx's code: logged and counted, never seen by the client


def _dimension_mismatch(error: Exception) -> ProblemError:
    assert isinstance(error, DimensionMismatch)
    return ProblemError(
        422,
        detail=f"vectors for {error.key} must all have the same length in one request",
        errors=[
            {"path": f"body.agents.{agent_id}.vector", "message": f"length {length}",
             "type": "dimension_mismatch"}
            for agent_id, length in error.lengths.items()
        ],
    )  # fmt: skip


def _queue_full(error: Exception) -> ProblemError:
    assert isinstance(error, QueueFull)
    return ProblemError(
        429,
        detail=f"the predictor's queues are full ({error.reason}); retry later",
        headers={"Retry-After": str(error.retry_after)},
        reason=error.reason,
    )


def _shutting_down(error: Exception) -> ProblemError:
    return ProblemError(503, detail=str(error), headers={"Retry-After": "1"})


# The one map from the service's exceptions to answers (create_app renders them);
# a request whose every agent failed is answered from its agents' codes in `_render`.
ERRORS: dict[type[Exception], ErrorMapping] = {
    DimensionMismatch: _dimension_mismatch,
    QueueFull: _queue_full,
    ShuttingDown: _shutting_down,
}
AGENT_CODE_STATUS = {"bad_input": 422, "deadline_exceeded": 504, "shutting_down": 503}

# LeanRoute: admission skips FastAPI's own request machinery (observability.lean), answers
# unchanged; every request's CPU on the loop delays the batches' dispatch and returns.
router = APIRouter(route_class=LeanRoute)


async def _disconnected(request: Request) -> None:
    """Returns when the client goes away (the body has been read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


@router.post(
    "/predict",
    response_model=PredictResponse,
    response_model_exclude_none=True,
    responses={
        422: {
            "description": "invalid body, vectors of one key with different lengths, or "
            "every agent's input refused by the backend"
        },
        429: {"description": "a queue is full; see Retry-After"},
        502: {"description": "every agent's batch failed at the backend"},
        503: {"description": "shutting down"},
        504: {"description": "every agent's deadline passed"},
    },
)
async def predict(body: PredictRequest, request: Request, service: Predictor) -> Response:
    agents = {
        agent_id: AgentInput(agent.vector, agent.model, agent.agent_type)
        for agent_id, agent in body.agents.items()
    }
    work = asyncio.ensure_future(service.predict(agents))
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not work.done():  # the client left (or we are cancelled): withdraw its agents
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
    if work.cancelled():
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    results = work.result()  # DimensionMismatch, QueueFull, ShuttingDown: see ERRORS
    return _render(agents, results)


def _render(agents: dict[str, AgentInput], results: dict[str, AgentOutcome]) -> Response:
    entries: dict[str, dict[str, Any]] = {}
    codes: set[str] = set()
    for agent_id, outcome in results.items():
        agent = agents[agent_id]
        entry: dict[str, Any] = {"model": agent.model, "agent_type": agent.agent_type}
        if isinstance(outcome, AgentFailure):
            entry["error"] = {"code": outcome.code, "detail": outcome.detail}
            codes.add(outcome.code)
        else:
            entry["output"] = outcome
        entries[agent_id] = entry
    if codes and all("error" in entry for entry in entries.values()):
        # bad_input: the backend refused these inputs, the caller's fault (never a 5xx,
        # which the gateway's breaker would count against the predictor).
        status = AGENT_CODE_STATUS.get(codes.pop(), 502)
        status = status if not codes else 502  # mixed causes: the backend's fault
        raise ProblemError(status, detail="every agent of the request failed", results=entries)
    return JSONResponse({"results": entries})
