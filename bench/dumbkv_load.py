"""dumbkv against the original DumbKV under the same load, SQLite and Postgres, one run.

Each server is its own uvicorn process on loopback, started in turn on an empty
database: the original's design (bench/baselines/naive_dumbkv.py, one connection on the
event loop) and dumbkv as deployed (WAL + `synchronous=FULL` on SQLite, committed
transactions on Postgres, the caller's identity verified on every request, encryption,
its telemetry on), and a bare FastAPI app (bench/baselines/bare_kv.py: the same uvicorn
and durability, one statement per request, on Postgres an asyncpg pool as large as
dumbkv's, nothing else): what a request-at-a-time service costs on that database and
these cores. dumbkv on Postgres can pass it, because it answers the requests waiting
for a connection with one statement per kind (dumbkv.store.Coalesced). The load
generator is a process of its own (bench.lean_http, closed loop):
`--concurrency` clients for `--seconds`, 80 % reads of seeded keys and 20 % writes of
fresh keys, 100-byte values. Postgres 15 comes from Testcontainers (TEST_POSTGRES_IMAGE).
Prints ops/s, p50 and p99 of each and the ratios.

    .venv/bin/python bench/dumbkv_load.py [--seconds 10] [--concurrency 16] [--rounds 3]
                                          [--skip-postgres] [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.infra_env import load_test_infra_env  # noqa: E402
from tools.procs import ServerProcess, listening_socket  # noqa: E402

SEEDED_KEYS = 200
VALUE = "v" * 100
SUBJECT = "bench"  # dumbkv's caller; its private namespace holds the bench's keys
NAIVE = "original design"
BARE = "bare FastAPI"  # bench/baselines/bare_kv.py: a statement per request, nothing else
BENCH_SECRET = "bench-identity-secret-0123456789abcdef"  # pragma: allowlist secret


def identity_headers(secret: str | None) -> Callable[[str, str, bytes], dict[str, str]]:
    """Signs each request as the gateway would (a fresh signature per request)."""
    if secret is None:
        return lambda _method, _path, _body: {}
    from identity import IDENTITY_HEADER, Identity, sign

    caller = Identity(subject=SUBJECT, method="api-key")
    return lambda method, path, body: {
        IDENTITY_HEADER: sign(secret.encode(), method, path, caller, body=body)
    }


async def generate(url: str, seconds: float, concurrency: int, secret: str | None) -> dict:
    """The load generator's process: seeds, runs the closed loop, returns its figures.

    One keep-alive connection per client (bench.lean_http: the generator shares the two
    cores with the server, and aiohttp cost more CPU per request than the servers do)."""
    from bench.lean_http import Connection, request_bytes

    try:
        import uvloop
    except ImportError:  # the loop asyncio has; uvicorn's own loop when installed
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    rng = random.Random(7)
    sign = identity_headers(secret)
    latencies: list[float] = []
    errors: dict[int, int] = {}
    host, _, port = url.removeprefix("http://").partition(":")

    async def call(connection: Connection, method: str, body: dict) -> int:
        data = json.dumps(body).encode()
        raw = request_bytes(method, f"{host}:{port}", "/kv", data, sign(method, "/kv", data))
        status, _ = await connection.request(raw)
        return status

    connections = [await Connection.open(host, int(port)) for _ in range(concurrency)]
    try:
        for i in range(SEEDED_KEYS):
            status = await call(connections[0], "PUT", {"key": f"k{i}", "value": VALUE})
            assert status == 200, f"seeding answered {status}"
        stop = time.monotonic() + seconds

        async def client(connection: Connection) -> None:
            while time.monotonic() < stop:
                if rng.random() < 0.8:
                    method, body = "POST", {"key": f"k{rng.randrange(SEEDED_KEYS)}"}
                else:
                    method, body = "PUT", {"key": uuid.uuid4().hex, "value": VALUE}
                started = time.perf_counter()
                status = await call(connection, method, body)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors[status] = errors.get(status, 0) + 1

        await asyncio.gather(*(client(connection) for connection in connections))
    finally:
        for connection in connections:
            connection.close()
    latencies.sort()
    return {
        "ops": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "errors": errors,
    }


def measure(name: str, command: list[str], env: dict[str, str], args: argparse.Namespace) -> dict:
    """One server on a socket it inherits, loaded by a generator process of its own."""
    listen = listening_socket()
    url = f"http://127.0.0.1:{listen.getsockname()[1]}"
    secret = env.get("PLATFORM_IDENTITY_SECRET")
    server = ServerProcess(
        name,
        command,
        env=env,
        ready_url=f"{url}/docs",
        ready_timeout=60,
        listen=listen,
        log_path=Path(tempfile.gettempdir()) / f"bench-{name}.log",
    )
    with server:
        generator = [
            sys.executable,
            __file__,
            "--generate",
            url,
            "--seconds",
            str(args.seconds),
            "--concurrency",
            str(args.concurrency),
        ]
        result = subprocess.run(
            generator,
            env={**os.environ, **({"BENCH_SECRET": secret} if secret else {})},
            capture_output=True,
            text=True,
            check=True,
            timeout=args.seconds + 120,
        )
    return json.loads(result.stdout)


def row(name: str, figures: dict) -> str:
    errors = ", ".join(f"{code}: {n}" for code, n in figures["errors"].items()) or "none"
    return (
        f"  {name:18} {figures['ops']:7.0f} ops/s  p50 {figures['p50_ms']:6.1f} ms  "
        f"p99 {figures['p99_ms']:6.1f} ms  errors {errors}"
    )


def compare(
    kind: str, naive_location: str, dumbkv_location: str, bare_location: str, args
) -> list[str]:
    """`--rounds` runs of each, interleaved (drift hits both alike), fresh data each;
    the figures are the medians over rounds."""
    naive_runs, dumbkv_runs, bare_runs = [], [], []
    for round_ in range(args.rounds):
        bare_runs.append(
            measure(
                "bare",
                [sys.executable, "-m", "bench.baselines.bare_kv"],
                {"BARE_TYPE": kind, "BARE_LOCATION": bare_location.format(round=round_)},
                args,
            )
        )
        naive_runs.append(
            measure(
                "naive",
                [sys.executable, "-m", "bench.baselines.naive_dumbkv"],
                {"NAIVE_TYPE": kind, "NAIVE_LOCATION": naive_location.format(round=round_)},
                args,
            )
        )
        dumbkv_runs.append(
            measure(
                "dumbkv",
                [sys.executable, "-m", "dumbkv"],
                {
                    "DATABASE_TYPE": kind,
                    "DATABASE_LOCATION": dumbkv_location.format(round=round_),
                    "DUMBKV_PEPPER": "bench-pepper-0123456789abcdef",
                    "PLATFORM_IDENTITY_SECRET": BENCH_SECRET,
                },
                args,
            )
        )
    naive, dumbkv = _median(naive_runs), _median(dumbkv_runs)
    ratio = dumbkv["ops"] / naive["ops"]
    p99 = dumbkv["p99_ms"] / naive["p99_ms"]
    bare = _median(bare_runs)
    lines = [
        f"{kind}:",
        row(NAIVE, naive),
        row("dumbkv", dumbkv),
        row(BARE, bare),
        f"  {BARE} / original: {bare['ops'] / naive['ops']:.2f}x ops/s (a statement per "
        f"request, nothing else); dumbkv / {BARE}: {dumbkv['ops'] / bare['ops']:.2f}x",
    ]
    return [*lines, f"  dumbkv / original: {ratio:.2f}x ops/s, p99 {p99:.2f}x"]


def _median(runs: list[dict]) -> dict:
    errors: dict[str, int] = {}
    for run in runs:
        for code, n in run["errors"].items():
            errors[code] = errors.get(code, 0) + n
    return {
        "ops": statistics.median(run["ops"] for run in runs),
        "p50_ms": statistics.median(run["p50_ms"] for run in runs),
        "p99_ms": statistics.median(run["p99_ms"] for run in runs),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--generate", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        figures = asyncio.run(
            generate(args.generate, args.seconds, args.concurrency, os.environ.get("BENCH_SECRET"))
        )
        print(json.dumps(figures))
        return
    load_test_infra_env()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        lines = []
        if not args.skip_sqlite:
            lines += compare(
                "sqlite",
                str(tmp / "naive-{round}.db"),
                str(tmp / "dumbkv-{round}" / "kv.db"),
                str(tmp / "bare-{round}.db"),
                args,
            )
        if not args.skip_postgres:
            import psycopg
            import psycopg.sql
            from testcontainers.community.postgres import PostgresContainer

            image = os.environ.get("TEST_POSTGRES_IMAGE", "postgres:15")
            # One server, a database each: both start empty on the same Postgres.
            with PostgresContainer(
                image, username="b", password="b", dbname="b", driver=None
            ) as pg:
                url = f"postgresql://b:b@127.0.0.1:{pg.get_exposed_port(5432)}"
                with psycopg.connect(f"{url}/b", autocommit=True) as admin:
                    for round_ in range(args.rounds):
                        for name in (f"naive{round_}", f"dumbkv{round_}", f"bare{round_}"):
                            admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(
                                psycopg.sql.Identifier(name)))  # fmt: skip
                lines += compare(
                    "postgres",
                    f"{url}/naive{{round}}",
                    f"{url}/dumbkv{{round}}",
                    f"{url}/bare{{round}}",
                    args,
                )
    print(
        f"80/20 read/write (fresh write keys, 100-byte values), {args.concurrency} clients, "
        f"{args.seconds:.0f} s each, one process each, median of {args.rounds} interleaved rounds"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
