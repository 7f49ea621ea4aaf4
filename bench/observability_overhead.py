"""Per-request cost of `create_app`'s stack against a bare FastAPI app, in one run.

Both apps serve the same JSON route (a pydantic body in, JSON out). Each is measured
in a process of its own (tracing and logging are process-wide: a bare app in the same
process would inherit the platform's tracer provider) by calling the ASGI app
directly with a prepared request, so no client, socket or HTTP parser is in the
figure: only what the stack adds (request id, deadline scope, metrics, access log,
body limits, error handling, trace context; then identity verification as well; then
the same with the route a `LeanRoute` (observability.lean), as dumbkv's and the
predictor's data routes are: the stack's cost with FastAPI's request path taken away).
Logs go to /dev/null. Prints median µs per request over interleaved rounds, the
added µs and the ratio; the target is the platform's own: the stack may add at most
one bare request's worth (ratio <= 2.0).

    .venv/bin/python bench/observability_overhead.py [--requests 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.types import Message

ROOT = Path(__file__).resolve().parent.parent
BODY = json.dumps({"key": "k1", "database": 0}).encode()
TARGET_RATIO = 2.0
SECRET = "bench-identity-secret-0123456789abcdef"  # pragma: allowlist secret


class Body(BaseModel):
    key: str
    database: int = 0


def build(kind: str) -> FastAPI:
    if kind == "bare":
        app = FastAPI()
    else:
        from observability import create_app

        secrets = (SECRET,) if "identity" in kind else ()
        app = create_app("bench", identity_secrets=secrets)
    if kind.endswith("+lean"):  # the route as dumbkv's and the predictor's data routes
        from fastapi import APIRouter
        from fastapi.responses import JSONResponse

        from observability.lean import LeanRoute, include_first

        router = APIRouter(route_class=LeanRoute)

        @router.post("/kv")
        async def lean_kv(body: Body) -> JSONResponse:
            return JSONResponse({"value": body.key})

        include_first(app, router)
        return app

    @app.post("/kv")
    async def kv(body: Body) -> dict[str, str]:
        return {"value": body.key}

    return app


def headers(kind: str) -> list[tuple[bytes, bytes]]:
    base = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ]
    if "identity" not in kind:
        return base
    from identity import IDENTITY_HEADER, Identity, sign

    who = Identity(subject="bench", method="api-key")
    signed = sign(SECRET.encode(), "POST", "/kv", who, body=BODY)  # a fresh nonce each
    return [*base, (IDENTITY_HEADER.lower().encode(), signed.encode())]


async def call(app: FastAPI, request_headers: list[tuple[bytes, bytes]]) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/kv",
        "raw_path": b"/kv",
        "query_string": b"",
        "root_path": "",
        "headers": request_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": BODY, "more_body": False}

    statuses: list[int] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    assert statuses == [200], statuses


async def per_request_us(kind: str, requests: int) -> float:
    """Headers are made (and, with identity, signed: a fresh nonce each) before the
    clock starts: the caller's signing is not the service's cost."""
    app = build(kind)
    for _ in range(300):  # warm-up: imports, caches, first metric children
        await call(app, headers(kind))
    prepared = [headers(kind) for _ in range(requests)]
    started = time.perf_counter()
    for request_headers in prepared:
        await call(app, request_headers)
    return (time.perf_counter() - started) / requests * 1e6


def measure(kind: str, requests: int) -> float:
    result = subprocess.run(  # one process per measurement: process-wide state stays apart
        [sys.executable, __file__, "--measure", kind, "--requests", str(requests)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.stdout.flush()
        real_stdout = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # the access lines, not the figure
        figure = asyncio.run(per_request_us(args.measure, args.requests))
        os.dup2(real_stdout, 1)
        print(f"{figure:.3f}")
        return
    kinds = ("bare", "platform", "platform+identity", "platform+identity+lean")
    runs: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):  # interleaved so drift affects all alike
        for kind in kinds:
            runs[kind].append(measure(kind, args.requests))
    bare = statistics.median(runs["bare"])
    print(f"{args.requests} requests per run, median of {args.rounds} interleaved rounds")
    print(f"bare FastAPI:                     {bare:7.1f} us/request")
    labels = (
        ("platform", "create_app"),
        ("platform+identity", "+ identity"),
        ("platform+identity+lean", "+ identity, LeanRoute"),
    )
    for kind, label in labels:
        us = statistics.median(runs[kind])
        print(
            f"{label + ' stack:':33} {us:7.1f} us/request  (+{us - bare:5.1f} us, "
            f"{us / bare:.2f}x; target <= {TARGET_RATIO:.1f}x)"
        )


if __name__ == "__main__":
    main()
