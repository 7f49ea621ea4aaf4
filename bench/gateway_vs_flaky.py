"""The gateway against the upstream as it really behaves, beside HAProxy, in one run.

Upstream: `services/remote` replicas in their default, faithful mode: serialized (one
`/invoke` at a time per replica, a stall blocks the replica, abandoned requests are
still served), the 503 path as a text/plain 500; time-scaled x0.01 (a 300 s stall lasts
3 s, latency 0-10 ms), hourly outage off. Every variant gets fresh replicas with the
same seeds and a fresh front, and every call a fresh input (no stale-cache hits).

For each concurrency c (closed loop, `--calls` GraphQL `invoke` calls):
(a) naive:          the original main.py (bench/baselines/naive_gateway.py) -> 1 replica
(b) naive+haproxy:  the same main.py -> HAProxy (Debian's; leastconn, `maxconn 1` per
                    replica, queue, L7 retries on 5xx with redispatch) -> 3 replicas
(c) gateway x3:     the gateway -> the same 3 replicas
(d) gateway x1:     the gateway -> 1 replica
Prints success, p50/p99/max, upstream requests per call (the replicas' own
`received` counters) and how many calls waited out a stall ("slow": at least 3 s, a
whole stall) and more than one ("slower": at least 4.5 s, part of a second stall too),
with ratios: gateway x3 to HAProxy, gateway x1 to naive.

Why the stall counts: at c = 8 the three replicas are stalled most of the time (a free
replica meets its next stall within ~20 requests, ~0.1 s), so every front has windows
in which all three are stalled at once and every waiting call waits out a stall. The
p99 (the 3rd slowest of 300 calls) is then one stall plus tens of milliseconds for any
front, unless three calls waited out two stalls: the "slower" count decides it.

Both fronts may wait for a free replica: HAProxy's queue and server timeouts are 120 s,
and the gateway's invoke deadline is raised from its 2.5 s default to 10 s
(`GATEWAY_INVOKE_TOTAL_S`). No front can answer before some replica is free again,
which takes up to a whole 3 s stall; with 2.5 s the gateway sheds those calls instead
(its SLO counts them). The gateway's dev API key is not needed: rate limits are off.
A second table repeats naive vs gateway against the kinder concurrent model
(`REMOTE_SERIALIZED=false`), the old default.

    .venv/bin/python bench/gateway_vs_flaky.py [--calls 300] [--concurrency 2 4 8]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from remote.settings import Settings as RemoteSettings  # noqa: E402
from tools.procs import LOOPBACK, ServerProcess, free_port, start_module, uvicorn_command  # noqa: E402

QUERY = "query($v: String!) { invoke(input: $v) { latencyMs output } }"
TIME_SCALE = 0.01
STALL_S = RemoteSettings.model_fields["stall_s"].default * TIME_SCALE
REMOTE_ENV = {"REMOTE_TIME_SCALE": str(TIME_SCALE), "REMOTE_OUTAGE_MINUTES": "0"}
GATEWAY_ENV = {
    "GATEWAY_RATE_LIMIT_RPS": "0",
    "GATEWAY_ANON_RATE_LIMIT_RPS": "0",
    "GATEWAY_INVOKE_TOTAL_S": "10",
}
SEEDS = (101, 102, 103)
RUN_CAP_S = 240.0  # every variant ends by then; unfinished calls count as failures
HAPROXY_CFG = """\
global
    maxconn 4096
defaults
    mode http
    timeout connect 1s
    timeout client 120s
    timeout server 120s
    timeout queue 120s
    retries 3
    option redispatch 1
    option http-buffer-request
    retry-on conn-failure empty-response 500 502 503 504
frontend edge
    bind {host}:{port}
    monitor-uri /haproxy-health
    default_backend remotes
backend remotes
    balance leastconn
{servers}
"""


@dataclass(frozen=True)
class Result:
    name: str
    concurrency: int
    ok: int
    calls: int
    latencies: list[float]
    upstream: int

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]

    def slower_than(self, stalls: float) -> int:
        """Calls that took at least `stalls` times a stall's length."""
        return sum(latency >= stalls * STALL_S for latency in self.latencies)

    def row(self, reference: Result | None = None) -> str:
        p99 = self.quantile(0.99)
        ratio = ""
        if reference is not None:
            ok_ratio = self.ok / max(reference.ok, 1)
            p99_ratio = p99 / reference.quantile(0.99)
            ratio = f"  vs {reference.name}: ok {ok_ratio:4.2f}x p99 {p99_ratio:4.2f}x"
        return (
            f"{self.name:13} c={self.concurrency}  {self.ok:4}/{self.calls} ok  "
            f"p50 {self.quantile(0.5) * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  "
            f"max {max(self.latencies) * 1000:6.1f} ms  upstream/call "
            f"{self.upstream / self.calls:4.2f}  slow {self.slower_than(1):3} "
            f"slower {self.slower_than(1.5):2}{ratio}"
        )


def start_remote(seed: int, **env: str) -> ServerProcess:
    _, process = start_module(
        "remote", "REMOTE_PORT", env={**REMOTE_ENV, "REMOTE_SEED": str(seed), **env},
        ready_path="/livez",
    )  # fmt: skip
    return process


def url_of(process: ServerProcess) -> str:
    assert process.ready_url is not None
    return process.ready_url.rsplit("/", 1)[0]


def received(remotes: list[ServerProcess]) -> int:
    return sum(int(httpx.get(f"{url_of(r)}/_stats").json()["received"]) for r in remotes)


@contextmanager
def remotes(count: int, **env: str) -> Iterator[list[ServerProcess]]:
    started = [start_remote(seed, **env) for seed in SEEDS[:count]]
    try:
        yield started
    finally:
        for process in started:
            process.kill()


@contextmanager
def naive(upstream: str) -> Iterator[str]:
    port = free_port()
    process = ServerProcess(
        f"naive-{port}",
        uvicorn_command("bench.baselines.naive_gateway:make_app", port),
        env={"NAIVE_REMOTE_URL": upstream},
        ready_url=f"http://{LOOPBACK}:{port}/docs",
    ).start()
    try:
        yield url_of(process.wait_ready())
    finally:
        process.kill()


@contextmanager
def gateway(upstreams: list[ServerProcess]) -> Iterator[str]:
    env = {**GATEWAY_ENV, "GATEWAY_REMOTE_URLS": ",".join(url_of(r) for r in upstreams)}
    _, process = start_module("gateway", "GATEWAY_PORT", env=env, ready_path="/livez")
    try:
        yield url_of(process)
    finally:
        process.kill()


@contextmanager
def haproxy(upstreams: list[ServerProcess]) -> Iterator[str]:
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(binary).exists():  # Debian's package, installed on first use
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "haproxy"], check=True)
    port = free_port()
    servers = "\n".join(
        f"    server r{i} {url_of(r).removeprefix('http://')} maxconn 1"
        for i, r in enumerate(upstreams)
    )
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "haproxy.cfg"
        config.write_text(HAPROXY_CFG.format(host=LOOPBACK, port=port, servers=servers))
        process = ServerProcess(
            f"haproxy-{port}",
            [binary, "-db", "-f", str(config)],
            ready_url=f"http://{LOOPBACK}:{port}/haproxy-health",
        ).start()
        try:
            yield url_of(process.wait_ready())
        finally:
            process.kill()


async def drive(front: str, calls: int, concurrency: int, tag: str) -> tuple[int, list[float]]:
    """Closed loop: `concurrency` clients, `calls` calls in all, each with a fresh input."""
    latencies: list[float] = []
    ok = 0
    next_call = iter(range(calls))
    stop_at = time.monotonic() + RUN_CAP_S

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal ok
        for i in next_call:
            value = f"{tag}-{i}-{uuid.uuid4().hex}"
            started = time.perf_counter()
            try:
                left = max(stop_at - time.monotonic(), 0.001)
                response = await http.post(
                    "/graphql",
                    json={"query": QUERY, "variables": {"v": value}},
                    timeout=left,
                )
                data = (response.json().get("data") or {}).get("invoke")
                ok += bool(data and data.get("output"))
            except (httpx.HTTPError, ValueError):
                pass
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=front, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return ok, latencies


def measure(
    name: str, concurrency: int, calls: int, count: int, front: Callable[..., object], **env: str
) -> Result:
    with ExitStack() as stack:
        upstreams = stack.enter_context(remotes(count, **env))
        url = stack.enter_context(front(upstreams))  # type: ignore[arg-type]
        ok, latencies = asyncio.run(drive(str(url), calls, concurrency, f"{name}-{concurrency}"))
        return Result(name, concurrency, ok, calls, latencies, received(upstreams))


@contextmanager
def naive_direct(upstreams: list[ServerProcess]) -> Iterator[str]:
    with naive(url_of(upstreams[0])) as url:
        yield url


@contextmanager
def naive_haproxy(upstreams: list[ServerProcess]) -> Iterator[str]:
    with haproxy(upstreams) as balancer, naive(balancer) as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--concurrent-calls", type=int, default=1000)
    args = parser.parse_args()
    print(
        f"remote serialized (faithful), x0.01, no outage; {args.calls} calls per variant; "
        "fresh replicas (seeds 101-103) per variant"
    )
    for c in args.concurrency:
        naive_x1 = measure("naive", c, args.calls, 1, naive_direct)
        print(naive_x1.row(), flush=True)
        haproxy_x3 = measure("naive+haproxy", c, args.calls, 3, naive_haproxy)
        print(haproxy_x3.row(naive_x1), flush=True)
        print(measure("gateway x3", c, args.calls, 3, gateway).row(haproxy_x3), flush=True)
        print(measure("gateway x1", c, args.calls, 1, gateway).row(naive_x1), flush=True)
    print(f"\nconcurrent model (REMOTE_SERIALIZED=false), {args.concurrent_calls} calls, c=8")
    kind = {"REMOTE_SERIALIZED": "false"}
    base = measure("naive", 8, args.concurrent_calls, 1, naive_direct, **kind)
    print(base.row(), flush=True)
    print(measure("gateway x3", 8, args.concurrent_calls, 3, gateway, **kind).row(base))


if __name__ == "__main__":
    main()
