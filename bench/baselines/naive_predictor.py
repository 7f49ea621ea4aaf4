"""Baseline for bench/predictor_load.py: the naive predictor, one backend call per agent.

What the task's first version did: split the request, call the model backend once per
agent (concurrently, one shared aiohttp pool of 1,000 connections: httpx's pool
degrades badly with thousands of waiters, which would flatter the comparison), gather.
No batching, no queues, no admission control. Not for use: a baseline.

    NAIVE_BACKEND_URL=http://127.0.0.1:8006 \\
        uvicorn bench.baselines.naive_predictor:make_app --factory
"""

import asyncio
import os

import aiohttp
from fastapi import FastAPI
from pydantic import BaseModel


class Agent(BaseModel):
    vector: list[float]
    model: str
    agent_type: str


class Body(BaseModel):
    agents: dict[str, Agent]


def make_app() -> FastAPI:
    app = FastAPI()
    base = os.environ["NAIVE_BACKEND_URL"]
    sessions: list[aiohttp.ClientSession] = []

    def session() -> aiohttp.ClientSession:
        if not sessions:  # created inside the running loop
            sessions.append(
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=1000),
                    timeout=aiohttp.ClientTimeout(total=60),
                )
            )
        return sessions[0]

    async def one(agent: Agent) -> float:
        async with session().post(
            f"{base}/v1/models/{agent.model}/infer",
            json={"agent_type": agent.agent_type, "inputs": [agent.vector]},
        ) as response:
            return (await response.json())["outputs"][0]

    @app.post("/predict")
    async def predict(body: Body) -> dict:
        ids = list(body.agents)
        outputs = await asyncio.gather(*(one(body.agents[i]) for i in ids))
        return {
            "results": {
                i: {"output": o, "model": body.agents[i].model,
                    "agent_type": body.agents[i].agent_type}
                for i, o in zip(ids, outputs, strict=True)
            }
        }  # fmt: skip

    return app
