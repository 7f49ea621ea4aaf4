"""Per-request overhead of `create_app`'s stack vs a bare FastAPI app, in one run.

Both apps serve the same JSON route in-process (httpx.ASGITransport, no sockets, so
the figure isolates the middleware: request id, deadline, metrics, tracing, logging,
error handling). Prints mean µs per request for each and the ratio (goal ≤ 1.15x).

    .venv/bin/python bench/observability_overhead.py [--requests 3000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import sys
import time
from pathlib import Path

import httpx
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    return app


def platform_app() -> FastAPI:
    from observability import create_app

    app = create_app("bench")

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    return app


async def per_request_us(app: FastAPI, requests: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for i in range(200):  # warm-up
            await client.get(f"/items/{i}")
        started = time.perf_counter()
        for i in range(requests):
            response = await client.get(f"/items/{i}")
            assert response.status_code == 200
        return (time.perf_counter() - started) / requests * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    bare, platform = bare_app(), platform_app()
    # Logs go to a memory buffer: the benchmark measures formatting, not the terminal.
    sink = logging.StreamHandler(io.StringIO())
    logging.getLogger().handlers[:] = [sink]
    bare_runs, platform_runs = [], []
    for _ in range(args.rounds):  # interleaved so drift affects both equally
        bare_runs.append(await per_request_us(bare, args.requests))
        platform_runs.append(await per_request_us(platform, args.requests))
    bare_us, platform_us = statistics.median(bare_runs), statistics.median(platform_runs)
    ratio = platform_us / bare_us
    print(f"requests per round: {args.requests}, rounds: {args.rounds} (medians)")
    print(f"bare FastAPI:              {bare_us:8.1f} us/request")
    print(f"create_app (full stack):   {platform_us:8.1f} us/request")
    print(f"overhead ratio:            {ratio:8.2f}x   (goal <= 1.15x)")


if __name__ == "__main__":
    asyncio.run(main())
