"""Real remote and gateway processes on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tools.procs import ServerProcess, free_port

CHAOS_TOKEN = "test-chaos-token"
# The default fault profile, time-scaled 100x, without the hourly outage.
NO_OUTAGE = {"REMOTE_TIME_SCALE": "0.01", "REMOTE_OUTAGE_MINUTES": "0"}
CALM = {**NO_OUTAGE, "REMOTE_FAILURE_503_RATE": "0", "REMOTE_FAILURE_500_RATE": "0",
        "REMOTE_STALL_RATE": "0"}  # fmt: skip


@dataclass
class Service:
    url: str
    process: ServerProcess

    def stop(self) -> None:
        self.process.kill()


def start_remote(seed: int, **env: str) -> Service:
    port = free_port()
    process = ServerProcess(
        f"remote-{port}",
        [sys.executable, "-m", "remote"],
        env={
            "REMOTE_PORT": str(port),
            "REMOTE_SEED": str(seed),
            "REMOTE_CHAOS_TOKEN": CHAOS_TOKEN,
            **env,
        },
        ready_url=f"http://127.0.0.1:{port}/livez",
    )
    return Service(f"http://127.0.0.1:{port}", process.start().wait_ready())


def start_gateway(remotes: list[Service], **env: str) -> Service:
    port = free_port()
    process = ServerProcess(
        f"gateway-{port}",
        [sys.executable, "-m", "gateway"],
        env={
            "GATEWAY_PORT": str(port),
            "GATEWAY_REMOTE_URLS": ",".join(r.url for r in remotes),
            **env,
        },
        ready_url=f"http://127.0.0.1:{port}/livez",
    )
    return Service(f"http://127.0.0.1:{port}", process.start().wait_ready())


def invocations(remote: Service) -> int:
    return int(httpx.get(f"{remote.url}/_stats").json()["invocations"])


def chaos(remote: Service, **body: object) -> None:
    httpx.post(
        f"{remote.url}/_chaos", json=body, headers={"X-Chaos-Token": CHAOS_TOKEN}
    ).raise_for_status()


@pytest.fixture(scope="module")
def calm_platform() -> Iterator[tuple[Service, Service]]:
    remote = start_remote(seed=1, **CALM)
    gateway = start_gateway([remote])
    try:
        yield gateway, remote
    finally:
        gateway.stop()
        remote.stop()
