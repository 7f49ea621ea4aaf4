"""Baseline for bench/gateway_vs_flaky.py: the original naive `main.py`, as it was.

A FastAPI app with a strawberry GraphQL schema (`hello`, `invoke(input)`) whose resolver
opens a new aiohttp session per call, posts to the remote once with no timeout, no
retry and no status check (`await response.json()` whatever came back) and returns the
`output`. A text/plain 500 from the remote fails the call. Not for use: a baseline.

    NAIVE_REMOTE_URL=http://127.0.0.1:8001 \\
        uvicorn bench.baselines.naive_gateway:make_app --factory --port 8100
"""

from __future__ import annotations

import os

import aiohttp
import strawberry
from fastapi import FastAPI
from strawberry.fastapi import GraphQLRouter


@strawberry.type
class InvokeResult:
    latency_ms: int
    output: str


def make_app() -> FastAPI:
    remote = os.environ["NAIVE_REMOTE_URL"].rstrip("/")

    @strawberry.type
    class Query:
        @strawberry.field
        def hello(self) -> str:
            return "world"

        @strawberry.field
        async def invoke(self, input: str) -> InvokeResult:
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{remote}/invoke", json={"input": input}) as response,
            ):
                body = await response.json(content_type=None)
            return InvokeResult(latency_ms=body["latency_ms"], output=body["output"])

    app = FastAPI()
    app.include_router(GraphQLRouter(strawberry.Schema(Query)), prefix="/graphql")
    return app
