"""Cost of the full resilience stack per call, and retry amplification in an outage.

In one run against the same local upstream (a real uvicorn process on loopback):
1. sequential GETs with a bare `httpx.AsyncClient` vs `ResilientClient` with the full
   default policy (deadline, budget, breaker, bulkhead, hedging armed, P2C) — ratio of
   mean latency per call (goal <= 1.10x);
2. the upstream answers 503 to everything: upstream calls per client call over the
   run, once the breaker has opened (goal <= 1.05);
3. `--concurrency` calls in flight (default 32, what one predictor model client has at
   16 batches x 2 keys), each a POST of the predictor's batch (64 rows of 16 floats):
   this process's CPU per call for bare httpx, for `ResilientClient` as the predictor
   configures it (no hedging), and for aiohttp, the client a user would pick instead.
   httpx's connection pool walks every connection on each request and each release
   (`has_expired` polls each idle socket), so its cost grows with the connections
   open: encode/httpcore#1035 is the open fix upstream.

    .venv/bin/python bench/resilience_overhead.py [--calls 2000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from resilience import Policy, ResilienceError, ResilientClient
from tests.fixtures.resilience import FLAKY_APP
from tools.procs import ServerProcess, free_port, uvicorn_command


async def mean_ms(call, calls: int) -> float:
    for _ in range(100):
        await call()
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls * 1000


BATCH = {"agent_type": "a", "inputs": [[0.25] * 16 for _ in range(64)]}


async def cpu_us_per_call(call, calls: int, concurrency: int) -> float:
    """This process's CPU (user + system) per call, `concurrency` calls in flight."""
    await asyncio.gather(*(call() for _ in range(concurrency)))  # every connection open
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - started) / calls * 1e6


async def concurrent_cpu(url: str, calls: int, concurrency: int, rounds: int) -> dict[str, float]:
    """Median over interleaved rounds of the CPU per call of each client (section 3)."""
    runs: dict[str, list[float]] = {"httpx": [], "ResilientClient": [], "aiohttp": []}
    limits = httpx.Limits(max_connections=2 * concurrency, max_keepalive_connections=concurrency)
    async with (
        httpx.AsyncClient(base_url=url, limits=limits) as bare,
        ResilientClient("concurrent", [url], policy=Policy(hedge=None)) as resilient,
        aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=2 * concurrency)) as peer,
    ):

        async def bare_call() -> None:
            (await bare.post("/work", json=BATCH)).raise_for_status()

        async def resilient_call() -> None:
            (await resilient.post("/work", json=BATCH, idempotent=True)).raise_for_status()

        async def peer_call() -> None:
            async with peer.post("/work", json=BATCH) as response:
                response.raise_for_status()
                await response.read()

        calls_of = {"httpx": bare_call, "ResilientClient": resilient_call, "aiohttp": peer_call}
        for _ in range(rounds):
            for name, call in calls_of.items():
                runs[name].append(await cpu_us_per_call(call, calls, concurrency))
    return {name: statistics.median(values) for name, values in runs.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ServerProcess(
        "upstream", uvicorn_command(FLAKY_APP, port), ready_url=f"{url}/admin/stats"
    ):
        async with (
            httpx.AsyncClient(base_url=url) as bare,
            ResilientClient("bench", [url], policy=Policy()) as resilient,
        ):

            async def bare_call() -> None:
                (await bare.get("/work")).raise_for_status()

            async def resilient_call() -> None:
                (await resilient.get("/work")).raise_for_status()

            bare_runs, resilient_runs = [], []
            for _ in range(args.rounds):
                bare_runs.append(await mean_ms(bare_call, args.calls))
                resilient_runs.append(await mean_ms(resilient_call, args.calls))
            bare_ms, resilient_ms = statistics.median(bare_runs), statistics.median(resilient_runs)

            await bare.post("/admin/mode", json={"mode": "fail", "status": 503})
            outage_calls = 1000
            opened_after: int | None = None
            upstream_at_open = 0
            async with ResilientClient("outage", [url], policy=Policy()) as fresh:
                for i in range(outage_calls):
                    with contextlib.suppress(ResilienceError):
                        await fresh.get("/work")
                    if opened_after is None and fresh.breaker_states()[url] == "open":
                        opened_after = i + 1
                        upstream_at_open = (await bare.get("/admin/stats")).json()["count"]
            upstream = (await bare.get("/admin/stats")).json()["count"]
            await bare.post("/admin/mode", json={"mode": "ok"})
        concurrent = await concurrent_cpu(url, args.calls, args.concurrency, args.rounds)

    print(f"calls per round: {args.calls}, rounds: {args.rounds} (medians), sequential")
    print(f"bare httpx:            {bare_ms:7.3f} ms/call")
    print(f"ResilientClient:       {resilient_ms:7.3f} ms/call")
    print(f"overhead ratio:        {resilient_ms / bare_ms:7.2f}x   (goal <= 1.10x)")
    print(f"100% outage: {outage_calls} client calls -> {upstream} upstream calls in all")
    print(f"breaker opened after:  {opened_after} calls ({upstream_at_open} upstream calls)")
    after = (upstream - upstream_at_open) / max(outage_calls - (opened_after or 0), 1)
    print(f"amplification overall: {upstream / outage_calls:7.3f}")
    print(f"amplification once open: {after:5.3f}   (goal <= 1.05)")
    peer = concurrent["aiohttp"]
    print(
        f"{args.concurrency} calls in flight, POST of a 64 x 16 batch, this process's CPU per "
        f"call (medians of {args.rounds} interleaved rounds of {args.calls}):"
    )
    for name, cpu_us in concurrent.items():
        print(f"  {name:16} {cpu_us:7.0f} us/call   {cpu_us / peer:5.2f}x aiohttp")


if __name__ == "__main__":
    asyncio.run(main())
