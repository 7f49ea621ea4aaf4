"""Ceiling for bench/predictor_load.py: the predictor's batcher behind nothing else.

The same `predictor.batcher.KeyedBatcher` with the same knobs, behind a bare FastAPI
route (pydantic body, the same JSON answer) and calling the backend with one plain
`httpx.AsyncClient`: no observability stack, no identity, no resilience client, no
partial-failure handling. The same uvicorn serves it. What is left between its rate
and the ceiling `keys x batches x batch size / backend latency` is what HTTP on these
cores and the closed loop cost any FastAPI batching service, not the platform's
stack; the distance from it to the predictor is the stack's. Not for use: a baseline.

    BARE_BACKEND_URL=http://127.0.0.1:8006 BARE_MAX_BATCH_SIZE=64 BARE_MAX_WAIT_MS=50 \\
    BARE_MAX_CONCURRENT_BATCHES=16 uvicorn bench.baselines.bare_predictor:make_app --factory
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from bench.baselines.naive_predictor import Body  # the same request body
from predictor.batcher import BatchKey, KeyedBatcher, KeyLimits


def make_app() -> FastAPI:
    base = os.environ["BARE_BACKEND_URL"]
    limits = KeyLimits(
        max_batch_size=int(os.environ.get("BARE_MAX_BATCH_SIZE", "64")),
        max_wait_ms=float(os.environ.get("BARE_MAX_WAIT_MS", "50")),
        max_concurrent_batches=int(os.environ.get("BARE_MAX_CONCURRENT_BATCHES", "8")),
    )
    held: dict[str, KeyedBatcher] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            base_url=base, timeout=60, limits=httpx.Limits(max_connections=128)
        ) as client:

            async def infer(key: BatchKey, rows: list[list[float]]) -> list[float]:
                response = await client.post(
                    f"/v1/models/{key.model}/infer",
                    json={"agent_type": key.agent_type, "inputs": rows},
                )
                return response.json()["outputs"]

            held["batcher"] = KeyedBatcher(infer, defaults=limits)  # type: ignore[arg-type]
            yield
            await held["batcher"].aclose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/predict")
    async def predict(body: Body) -> dict:
        ids = list(body.agents)
        futures = held["batcher"].submit(
            [(BatchKey(body.agents[i].model, body.agents[i].agent_type), body.agents[i].vector)
             for i in ids]
        )  # fmt: skip
        outputs = await asyncio.gather(*futures)
        return {
            "results": {
                i: {"model": body.agents[i].model, "agent_type": body.agents[i].agent_type,
                    "output": o}
                for i, o in zip(ids, outputs, strict=True)
            }
        }  # fmt: skip

    return app
