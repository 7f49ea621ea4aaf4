"""The gateway vs the original naive client, side by side against the same flaky remote.

One remote (the default fault profile, time-scaled 100x so a 300 s stall lasts 3 s,
hourly outage excluded, faithful text/plain errors as the original), in one run:

(a) naive: what the original main.py did — a new aiohttp session per call, no timeout,
    no retry, no status check (`await response.json()` whatever came back);
(b) the gateway (GraphQL `invoke`) in front of the same remote.

Prints success %, p50/p99/max latency, upstream calls per client call, and how fast
the gateway fails while its breaker is open; writes a CDF of both latency distributions
(log scale) to bench/results/gateway_vs_flaky.png.

    .venv/bin/python bench/gateway_vs_flaky.py [--calls 600] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services.gateway.conftest import (  # noqa: E402
    NO_OUTAGE,
    chaos,
    invocations,
    start_gateway,
    start_remote,
)

QUERY = "query($v: String!) { invoke(input: $v) { latencyMs output cached } }"


async def naive_call(url: str, value: str) -> bool:
    async with aiohttp.ClientSession() as session:  # a new session per call, as the original
        try:
            async with session.post(f"{url}/invoke", json={"input": value}) as response:
                body = await response.json(content_type=None)  # no status check
                return isinstance(body, dict) and "output" in body
        except (aiohttp.ClientError, ValueError):
            return False


async def gateway_call(client: httpx.AsyncClient, value: str) -> bool:
    body = (await client.post("/graphql", json={"query": QUERY, "variables": {"v": value}})).json()
    return bool(body.get("data") and body["data"].get("invoke"))


async def drive(call, calls: int, concurrency: int) -> list[tuple[bool, float]]:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> tuple[bool, float]:
        async with semaphore:
            started = time.perf_counter()
            ok = await call(f"value-{i}")
            return ok, time.perf_counter() - started

    return await asyncio.gather(*(one(i) for i in range(calls)))


def summary(name: str, results: list[tuple[bool, float]], upstream_calls: int) -> str:
    latencies = sorted(elapsed for _, elapsed in results)
    success = sum(ok for ok, _ in results) / len(results)
    p50 = statistics.median(latencies)
    p99 = latencies[min(int(0.99 * len(latencies)), len(latencies) - 1)]
    return (
        f"{name:8} success {success:7.2%}  p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  "
        f"max {latencies[-1] * 1000:7.1f} ms  upstream calls/client call "
        f"{upstream_calls / len(results):5.2f}"
    )


def plot(naive: list[tuple[bool, float]], gateway: list[tuple[bool, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for label, results in (("naive client", naive), ("gateway", gateway)):
        latencies = sorted(max(e, 1e-4) * 1000 for _, e in results)
        fractions = [(i + 1) / len(latencies) for i in range(len(latencies))]
        axis.step(latencies, fractions, where="post", label=label)
    axis.set_xscale("log")
    axis.set_xlabel("latency (ms, log scale)")
    axis.set_ylabel("fraction of calls")
    axis.set_title("Calls to a flaky upstream (time-scaled 100x)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    env = {**NO_OUTAGE, "REMOTE_FAITHFUL_ERRORS": "true"}
    remotes = [start_remote(seed=21, **env), start_remote(seed=22, **env)]
    gateway = start_gateway(remotes, GATEWAY_BREAKER_OPEN_S="600")
    try:
        before = invocations(remotes[0])
        naive = await drive(lambda v: naive_call(remotes[0].url, v), args.calls, args.concurrency)
        naive_upstream = invocations(remotes[0]) - before

        before = sum(invocations(r) for r in remotes)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
            via_gateway = await drive(
                lambda v: gateway_call(client, v), args.calls, args.concurrency
            )
            gateway_upstream = sum(invocations(r) for r in remotes) - before

            for remote in remotes:
                chaos(remote, outage_s=600)
            for i in range(300):  # until the breakers open (bounded)
                body = (
                    await client.post(
                        "/graphql", json={"query": QUERY, "variables": {"v": f"o{i}"}}
                    )
                ).json()
                if (body.get("errors") or [{}])[0].get("extensions", {}).get(
                    "code"
                ) == "CIRCUIT_OPEN":
                    break
            open_latencies = []
            for i in range(100):
                started = time.perf_counter()
                await client.post("/graphql", json={"query": QUERY, "variables": {"v": f"f{i}"}})
                open_latencies.append(time.perf_counter() - started)
    finally:
        gateway.stop()
        for remote in remotes:
            remote.stop()

    print(f"{args.calls} calls each, concurrency {args.concurrency}, remote time-scaled 100x")
    print(summary("naive", naive, naive_upstream))
    print(summary("gateway", via_gateway, gateway_upstream))
    print(
        f"fail-fast while open: p50 {statistics.median(open_latencies) * 1000:.1f} ms, "
        f"max {max(open_latencies) * 1000:.1f} ms   (goal <= 10 ms)"
    )
    out = ROOT / "bench" / "results" / "gateway_vs_flaky.png"
    plot(naive, via_gateway, out)
    print(f"CDF written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
