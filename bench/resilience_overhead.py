"""Cost of the full resilience stack per call, and retry amplification in an outage.

In one run against the same local upstream (a real uvicorn process on loopback):
1. sequential GETs with a bare `httpx.AsyncClient` vs `ResilientClient` with the full
   default policy (deadline, budget, breaker, bulkhead, hedging armed, P2C) — ratio of
   mean latency per call (goal <= 1.10x);
2. the upstream answers 503 to everything: upstream calls per client call over the
   run, once the breaker has opened (goal <= 1.05).

    .venv/bin/python bench/resilience_overhead.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from pathlib import Path

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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
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

    print(f"calls per round: {args.calls}, rounds: {args.rounds} (medians), sequential")
    print(f"bare httpx:            {bare_ms:7.3f} ms/call")
    print(f"ResilientClient:       {resilient_ms:7.3f} ms/call")
    print(f"overhead ratio:        {resilient_ms / bare_ms:7.2f}x   (goal <= 1.10x)")
    print(f"100% outage: {outage_calls} client calls -> {upstream} upstream calls in all")
    print(f"breaker opened after:  {opened_after} calls ({upstream_at_open} upstream calls)")
    after = (upstream - upstream_at_open) / max(outage_calls - (opened_after or 0), 1)
    print(f"amplification overall: {upstream / outage_calls:7.3f}")
    print(f"amplification once open: {after:5.3f}   (goal <= 1.05)")


if __name__ == "__main__":
    asyncio.run(main())
