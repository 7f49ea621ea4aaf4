"""The mock model server: `python -m predictor.backend` (port 8006, env prefix BACKEND_).

`POST /v1/models/{model}/infer` `{"agent_type": str, "inputs": [[float, ...], ...]}` →
`{"outputs": [float, ...]}`: one output per row, the **sum of its elements**
(deterministic, so every scatter can be checked; a row whose sum is not a finite float
makes the call a 422 problem whose `rows` lists the indices of every such row), after a uniform
`BACKEND_LATENCY_MIN..MAX` sleep (default 3-7 s) per call whatever the number of rows,
as a GPU runs a batch of 64 about as fast as a batch of 1. Optional failure rates
(500s) for every model or per model, and an optional per-model concurrency limit (a
model server runs a bounded number of batches at once). `GET /stats` counts calls and
rows so tests and benchmarks can see the batching (read-only, so open); `POST
/control/pause` and `/control/resume` hold calls for tests, and exist only with
`BACKEND_CONTROL_ROUTES=true`: anyone who could reach them could stall every prediction.
Inference stays open, as the third-party model server this stands in for would be.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Request
from pydantic import BaseModel, ConfigDict, Field

import observability
from observability import ProblemError, ServerLimits, serve
from predictor.models import NAME_PATTERN
from predictor.settings import BackendSettings

Finite = Annotated[float, Field(allow_inf_nan=False)]


class InferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_type: str = Field(min_length=1, max_length=64)
    inputs: list[list[Finite]] = Field(min_length=1)


class InferResponse(BaseModel):
    outputs: list[float]


class Stats(BaseModel):
    calls: int
    rows: int
    failures: int
    max_rows: int
    in_flight: int
    calls_by_key: dict[str, int]
    rows_by_key: dict[str, int]


class MockModels:
    """The mock's state: counters, per-model limits and the random source."""

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self.rng = random.Random(settings.seed)  # noqa: S311 - simulated latency
        self.calls = 0
        self.rows = 0
        self.failures = 0
        self.max_rows = 0
        self.in_flight = 0
        self.calls_by_key: Counter[str] = Counter()
        self.rows_by_key: Counter[str] = Counter()
        self._limits: dict[str, asyncio.Semaphore] = {}
        self.gate = asyncio.Event()  # cleared by POST /control/pause: calls wait (tests)
        self.gate.set()

    def _limit(self, model: str) -> asyncio.Semaphore | None:
        if self.settings.max_concurrency <= 0:
            return None
        if model not in self._limits:
            self._limits[model] = asyncio.Semaphore(self.settings.max_concurrency)
        return self._limits[model]

    async def infer(self, model: str, body: InferRequest) -> list[float]:
        if len({len(row) for row in body.inputs}) > 1:
            raise ProblemError(422, detail="inputs must be a matrix (rows of one length)")
        key = f"{model}/{body.agent_type}"
        self.calls += 1
        self.rows += len(body.inputs)
        self.max_rows = max(self.max_rows, len(body.inputs))
        self.calls_by_key[key] += 1
        self.rows_by_key[key] += len(body.inputs)
        await self.gate.wait()
        limit = self._limit(model)
        if limit is not None:
            await limit.acquire()
        self.in_flight += 1
        try:
            low, high = self.settings.latency_min, self.settings.latency_max
            await asyncio.sleep(self.rng.uniform(low, max(low, high)))
        finally:
            self.in_flight -= 1
            if limit is not None:
                limit.release()
        rate = self.settings.failure_rates.get(model, self.settings.failure_rate)
        if rate > 0 and self.rng.random() < rate:
            self.failures += 1
            raise ProblemError(500, detail=f"model {model} failed (simulated)")
        outputs, rejected = [], []
        for index, row in enumerate(body.inputs):
            try:
                output = math.fsum(row)
            except OverflowError:  # finite elements, a sum beyond a float's range
                output = math.inf
            outputs.append(output)
            if not math.isfinite(output):
                rejected.append(index)
        if rejected:
            # The batch's other rows are fine: naming the bad ones lets the caller fail
            # only those and send the rest again.
            raise ProblemError(422, detail="these rows have no finite output", rows=rejected)
        return outputs

    def stats(self) -> Stats:
        return Stats(
            calls=self.calls,
            rows=self.rows,
            failures=self.failures,
            max_rows=self.max_rows,
            in_flight=self.in_flight,
            calls_by_key=dict(self.calls_by_key),
            rows_by_key=dict(self.rows_by_key),
        )


router = APIRouter()
# Only included with `control_routes` (dev and tests).
control = APIRouter(prefix="/control", include_in_schema=False)


def _models(request: Request) -> MockModels:
    return request.app.state.models


@router.post("/v1/models/{model}/infer", response_model=InferResponse)
async def infer(
    model: Annotated[str, Path(pattern=NAME_PATTERN)], body: InferRequest, request: Request
) -> InferResponse:
    return InferResponse(outputs=await _models(request).infer(model, body))


@router.get("/stats", response_model=Stats)
async def stats(request: Request) -> Stats:
    return _models(request).stats()


@control.post("/pause", status_code=204)
async def pause(request: Request) -> None:
    """Hold every call (counted on arrival) until /control/resume: tests use it to keep
    a batch in flight for as long as they need, without racing a timer."""
    _models(request).gate.clear()


@control.post("/resume", status_code=204)
async def resume(request: Request) -> None:
    _models(request).gate.set()


def create_app(settings: BackendSettings | None = None) -> FastAPI:
    """The mock backend; with no settings they come from the environment."""
    settings = settings or BackendSettings()
    app = observability.create_app(
        "predictor-backend",
        settings,
        description="Mock model server: outputs are row sums, after a simulated latency.",
    )
    app.state.models = MockModels(settings)
    app.include_router(router)
    if settings.control_routes:
        app.include_router(control)
    return app


def main() -> None:
    settings = BackendSettings()
    serve(
        "predictor.backend:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        limits=ServerLimits.internal(),
    )


if __name__ == "__main__":
    main()
