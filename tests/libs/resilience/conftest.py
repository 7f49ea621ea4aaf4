"""Real flaky upstream processes on loopback for the resilience tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.resilience import Flaky, start_flaky


@pytest.fixture(scope="module")
def replicas() -> Iterator[list[Flaky]]:
    servers = [start_flaky(), start_flaky()]
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
