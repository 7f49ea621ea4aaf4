"""Real flaky upstream processes on loopback for the resilience tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tools.procs import ServerProcess, free_port, uvicorn_command

FLAKY_APP = "tests.libs.resilience.flaky_app:make_app"


@dataclass
class Flaky:
    url: str
    process: ServerProcess

    def set(self, mode: str = "ok", **options: object) -> None:
        httpx.post(f"{self.url}/admin/mode", json={"mode": mode, **options}).raise_for_status()

    def count(self) -> int:
        return int(httpx.get(f"{self.url}/admin/stats").json()["count"])

    def stats(self) -> dict[str, object]:
        return httpx.get(f"{self.url}/admin/stats").json()


def _start() -> Flaky:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ServerProcess(
        f"flaky-{port}", uvicorn_command(FLAKY_APP, port), ready_url=f"{url}/admin/stats"
    )
    return Flaky(url, process.start().wait_ready())


@pytest.fixture(scope="module")
def replicas() -> Iterator[list[Flaky]]:
    servers = [_start(), _start()]
    try:
        yield servers
    finally:
        for server in servers:
            server.process.kill()  # hanging requests would hold a graceful stop for 10 s


@pytest.fixture
def flaky(replicas: list[Flaky]) -> Flaky:
    for server in replicas:
        server.set("ok")
    return replicas[0]


@pytest.fixture
def stalled_and_healthy(replicas: list[Flaky]) -> tuple[Flaky, Flaky]:
    """The two replicas: the first never answers in time, the second answers at once."""
    stalled, healthy = replicas
    stalled.set("hang")
    healthy.set("ok")
    return stalled, healthy
