"""Routes of the unreliable upstream: parse, ask the fault model, answer; and `ERRORS`,
the one map from its exceptions to answers (passed to `create_app` by `remote.app`)."""

from __future__ import annotations

import asyncio
import base64

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from observability import problem_response
from observability.app import ErrorMapping
from remote.deps import Faults, RemoteSettings, Serial
from remote.faults import (
    ChaosDisabled,
    ChaosTokenRejected,
    FaultModel,
    FaultOutcome,
    check_chaos_token,
)
from remote.settings import Settings

ERRORS: dict[type[Exception], ErrorMapping] = {ChaosDisabled: 404, ChaosTokenRejected: 401}

router = APIRouter()


class InvokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str = Field(max_length=1_000_000)
    circuit_breaker_trigger_enabled: bool = True


class InvokeResponse(BaseModel):
    latency_ms: int
    output: str


class ChaosRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outage_s: float | None = Field(None, ge=0, le=3600)
    latency_ms: int | None = Field(None, ge=0, le=600_000)
    duration_s: float = Field(60.0, ge=0, le=3600)


class Stats(BaseModel):
    invocations: int = Field(description="calls processed")
    received: int = Field(description="calls that reached /invoke (processed or queued)")
    serialized: bool
    in_scheduled_outage: bool
    outage_start_minute: float


@router.get("/", response_class=PlainTextResponse)
async def index() -> str:
    return (
        "remote: a deliberately unreliable upstream.\n"
        'POST /invoke {"input": str} -> {"latency_ms": int, "output": base64(input)}\n'
        "It fails on purpose (503s, 500s, slow answers, stalls, an hourly outage). See /docs.\n"
    )


@router.post(
    "/invoke",
    response_model=InvokeResponse,
    responses={500: {"description": "injected failure"}, 503: {"description": "injected"}},
)
async def invoke(
    body: InvokeRequest, faults: Faults, settings: RemoteSettings, serial: Serial
) -> Response:
    faults.received += 1
    if serial is None:
        return await _answer(body, settings, faults)
    # The original slept with `time.sleep` on its one event loop: the replica served one
    # call at a time, in arrival order, and still served calls whose client had given
    # up. A FIFO lock held for the whole call reproduces exactly that for /invoke; uvicorn
    # does not cancel a handler whose client went away, so abandoned calls run too.
    async with serial:
        return await _answer(body, settings, faults)


async def _answer(body: InvokeRequest, settings: Settings, faults: FaultModel) -> Response:
    decision = faults.decide(trigger_enabled=body.circuit_breaker_trigger_enabled)
    if decision.delay_s:
        await asyncio.sleep(decision.delay_s)
    if decision.outcome is FaultOutcome.OK:
        output = base64.b64encode(body.input.encode()).decode()
        return JSONResponse({"latency_ms": decision.latency_ms, "output": output})
    if settings.faithful_errors:
        # The original answered every failure (its 503 path crashed) as a plain 500.
        return PlainTextResponse("Internal Server Error", status_code=500)
    if decision.outcome is FaultOutcome.UNAVAILABLE:
        return problem_response(503, detail="injected: service unavailable")
    if decision.outcome is FaultOutcome.OUTAGE:
        return problem_response(500, detail="injected: outage in progress")
    return problem_response(500, detail="injected: internal error")


@router.get("/_stats", response_model=Stats)
async def stats(faults: Faults, serial: Serial) -> Stats:
    return Stats(
        invocations=faults.invocations,
        received=faults.received,
        serialized=serial is not None,
        in_scheduled_outage=faults.in_scheduled_outage(),
        outage_start_minute=faults.outage_start_minute,
    )


@router.post("/_chaos", responses={401: {}, 404: {}})
async def chaos(
    body: ChaosRequest,
    faults: Faults,
    settings: RemoteSettings,
    x_chaos_token: str | None = Header(default=None),
) -> dict[str, object]:
    check_chaos_token(settings.chaos_token, x_chaos_token)
    if body.outage_s is not None:
        faults.force_outage(body.outage_s)
    faults.force_latency(body.latency_ms, body.duration_s)
    return {"status": "applied", "outage_s": body.outage_s, "latency_ms": body.latency_ms}
