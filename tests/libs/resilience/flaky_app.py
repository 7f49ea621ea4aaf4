"""A purpose-built flaky upstream for the resilience tests, steered over HTTP.

`POST /admin/mode` sets how `/work` behaves: `ok`, `bad_gzip`, `fail` (every request answers
`status`), `fail_every` (every n-th request fails), `hang` (never answers within the
test), with an optional fixed `delay_ms` plus a uniform `jitter_ms` (and `odd_delay_ms`
more for odd-numbered requests). `GET /admin/stats`
counts requests seen and the last deadline header received.
"""

from __future__ import annotations

import asyncio
import random

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel


class Mode(BaseModel):
    mode: str = "ok"
    status: int = 503
    every: int = 2
    delay_ms: int = 0
    jitter_ms: int = 0
    odd_delay_ms: int = 0  # extra delay for the 1st, 3rd, 5th ... request
    retry_after: str | None = None
    headers: dict[str, str] = {}  # sent with failures


def make_app() -> FastAPI:
    app = FastAPI()
    state: dict[str, object] = {"mode": Mode(), "count": 0, "deadline": None}

    @app.post("/admin/mode")
    async def set_mode(mode: Mode) -> dict[str, str]:
        state["mode"] = mode
        state["count"] = 0
        return {"status": "set"}

    @app.get("/admin/stats")
    async def stats() -> dict[str, object]:
        return {"count": state["count"], "deadline": state["deadline"]}

    @app.api_route("/work", methods=["GET", "POST", "PUT"])
    async def work(request: Request) -> Response:
        count = int(state["count"]) + 1  # type: ignore[call-overload]
        state["count"] = count
        state["deadline"] = request.headers.get("x-request-deadline-ms")
        mode: Mode = state["mode"]  # type: ignore[assignment]
        odd = mode.odd_delay_ms if count % 2 == 1 else 0
        if mode.delay_ms or mode.jitter_ms or odd:
            jitter = random.uniform(0, mode.jitter_ms)
            await asyncio.sleep((mode.delay_ms + jitter + odd) / 1000)
        if mode.mode == "hang":
            await asyncio.sleep(30)
        if mode.mode == "bad_gzip":  # a body that does not decode as it claims
            return Response(b"not gzip", headers={"content-encoding": "gzip"})
        failing = mode.mode == "fail" or (mode.mode == "fail_every" and count % mode.every == 1)
        if failing:
            headers = {"Retry-After": mode.retry_after} if mode.retry_after else {}
            headers |= mode.headers
            return Response('{"error": "injected"}', status_code=mode.status, headers=headers)
        return Response(f'{{"served_by": "{request.url.port}"}}', media_type="application/json")

    return app
