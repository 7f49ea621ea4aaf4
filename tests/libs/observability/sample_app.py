"""A small service built with `create_app`, served by real uvicorn in the tests.

Its behaviour is steered through its own HTTP endpoints (no shared memory with the
test process): `/admin/readiness` flips the dependency check between ok, failing and
hanging; `/slow` works for a while and reports through `/admin/slow-started` that it has
begun, so the test sends SIGTERM exactly while a request is in flight.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel, Field

from observability import SLO, ProblemError, ReadinessCheck, availability, create_app, latency
from resilience.deadlines import remaining

state: dict[str, str] = {"dependency": "ok"}
slow_started = asyncio.Event()


async def dependency() -> bool:
    mode = state["dependency"]
    if mode == "hang":
        await asyncio.Event().wait()
    if mode == "fail":
        raise ConnectionError("dependency refused the connection")
    return True


class OutOfStock(Exception):
    """A domain exception: the domain knows nothing of HTTP."""


class SoldOut(OutOfStock):
    pass


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many orders")
        self.retry_after = retry_after


def _throttled(exc: Exception) -> ProblemError:
    assert isinstance(exc, Throttled)
    return ProblemError(429, detail=str(exc), headers={"Retry-After": str(exc.retry_after)})


ERRORS = {OutOfStock: 409, Throttled: _throttled}


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    quantity: int = Field(ge=0)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    if os.environ.get("SAMPLE_FAIL_STARTUP"):
        raise RuntimeError("the sample was told to fail its start-up")
    yield


def make_app() -> FastAPI:
    app = create_app(
        "sample",
        lifespan=lifespan,
        readiness_checks=[ReadinessCheck("dependency", dependency, timeout=0.2)],
        slos=[SLO("availability", sli=availability()), SLO("fast", sli=latency(0.25))],
        errors=ERRORS,
    )

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, int]:
        if item_id == 404:
            raise ProblemError(404, detail="no such item", type="https://errors.example/not-found")
        return {"item_id": item_id}

    @app.post("/items")
    async def create_item(item: Item) -> Item:
        return item

    @app.delete("/items/{item_id}", status_code=204)
    async def delete_item(item_id: int) -> None:
        return None

    @app.post("/orders/{kind}")
    async def order(kind: str) -> None:
        raise {"out": OutOfStock("none left"), "sold": SoldOut("sold out"), "slow": Throttled(3)}[
            kind
        ]

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals must not leak")

    @app.get("/deadline")
    async def deadline() -> dict[str, float | None]:
        return {"remaining": remaining()}

    @app.get("/late")
    async def late() -> None:
        raise ProblemError(504, detail="an upstream call ran out of time")

    @app.get("/slow")
    async def slow(seconds: float = 1.0) -> dict[str, str]:
        slow_started.set()
        await asyncio.sleep(seconds)  # server-side work that outlives the SIGTERM
        return {"status": "finished"}

    @app.get("/admin/slow-started")
    async def slow_has_started() -> dict[str, bool]:
        return {"started": slow_started.is_set()}

    @app.get("/admin/heap")
    async def heap() -> dict[str, object]:
        return {"frozen": gc.get_freeze_count(), "thresholds": list(gc.get_threshold())}

    @app.post("/admin/readiness/{mode}")
    async def set_readiness(mode: str) -> dict[str, str]:
        state["dependency"] = mode
        return state

    return app
