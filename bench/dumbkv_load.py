"""dumbkv under an 80/20 read/write load over HTTP, SQLite and Postgres, against the
original's design as a baseline measured in the same run.

The baseline (bench/baselines/naive_dumbkv.py) is the original DumbKV in a few lines:
one shared connection (no pool),
the key's SHA-256 stored as the row id *and* used as the Fernet key. Both run as real
uvicorn processes on loopback; the load generator keeps `--concurrency` requests in
flight for `--seconds`. Postgres comes from Testcontainers (TEST_POSTGRES_IMAGE).

    .venv/bin/python bench/dumbkv_load.py [--seconds 8] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import _load_test_infra_env  # noqa: E402
from tools.procs import ServerProcess, free_port, uvicorn_command  # noqa: E402


async def load(
    url: str, seconds: float, concurrency: int, keys: int
) -> tuple[int, list[float], int]:
    rng = random.Random(7)
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for i in range(keys):  # seed the keys read later
            await client.put(
                "/kv", json={"key": f"k{i}", "value": "v" * 100}, params={"overwrite": "true"}
            )
        stop = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                k = f"k{rng.randrange(keys)}"
                started = time.perf_counter()
                if rng.random() < 0.8:
                    response = await client.post("/kv", json={"key": k})
                else:
                    response = await client.put(
                        "/kv", json={"key": k, "value": "w" * 100}, params={"overwrite": "true"}
                    )
                latencies.append(time.perf_counter() - started)
                errors += response.status_code >= 400

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), latencies, errors


def figures(
    name: str, count: int, latencies: list[float], errors: int, seconds: float
) -> tuple[float, str]:
    latencies.sort()
    ops = count / seconds
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000
    return ops, f"{name:22} {ops:8.0f} ops/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  errors {errors}"


async def run(kind: str, location: str, args: argparse.Namespace, tmp: Path) -> list[str]:
    lines = []
    results = {}
    for label in ("naive (original design)", "dumbkv"):
        port = free_port()
        if label == "dumbkv":
            env = {
                "DATABASE_TYPE": kind,
                "DATABASE_LOCATION": location,
                "DUMBKV_PEPPER": "bench-pepper",
                "DUMBKV_PORT": str(port),
                "DUMBKV_LOG_LEVEL": "WARNING",
            }
            command = [sys.executable, "-m", "dumbkv"]
        else:
            naive_location = (
                str(tmp / "naive.db") if kind == "sqlite" else location.replace("+asyncpg", "")
            )
            env = {"NAIVE_TYPE": kind, "NAIVE_LOCATION": naive_location}
            command = uvicorn_command("bench.baselines.naive_dumbkv:make_app", port)
        with ServerProcess(
            label,
            command,
            env=env,
            ready_url=f"http://127.0.0.1:{port}/kv".replace("/kv", "/docs"),
            ready_timeout=60,
        ):
            count, latencies, errors = await load(
                f"http://127.0.0.1:{port}", args.seconds, args.concurrency, 200
            )
        ops, line = figures(f"{kind}: {label}", count, latencies, errors, args.seconds)
        results[label] = ops
        lines.append(line)
    ratio = results["dumbkv"] / results["naive (original design)"]
    lines.append(f"{kind}: dumbkv throughput = {ratio:.2f}x naive")
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    _load_test_infra_env()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        lines = await run("sqlite", str(tmp / "dumbkvstore" / "dumbkv.db"), args, tmp)
        if not args.skip_postgres:
            from testcontainers.community.postgres import PostgresContainer

            image = os.environ.get("TEST_POSTGRES_IMAGE", "postgres:16-alpine")
            with PostgresContainer(
                image, username="b", password="b", dbname="b", driver=None
            ) as pg:
                url = f"postgresql://b:b@127.0.0.1:{pg.get_exposed_port(5432)}/b"
                lines += await run("postgres", url, args, tmp)
    print(f"80/20 read/write, {args.concurrency} in flight, {args.seconds:.0f} s per run")
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
