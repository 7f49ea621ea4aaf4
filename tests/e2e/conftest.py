"""The whole platform on free ports, started by the same launcher as `make run`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tools.launcher import SERVICES, Platform
from tools.procs import free_port

# Fast, reproducible upstreams: the remote keeps its failure modes but runs 100x faster
# with a fixed seed and no scheduled outage; the model backend answers in 50-100 ms.
E2E_ENV = {
    "REMOTE_TIME_SCALE": "0.01",
    "REMOTE_SEED": "7",
    "REMOTE_OUTAGE_MINUTES": "0",
    "REMOTE_CHAOS_TOKEN": "e2e-chaos-token",  # the live-metrics test forces an outage
    "BACKEND_LATENCY_MIN": "0.05",
    "BACKEND_LATENCY_MAX": "0.1",
    "DUMBKV_PEPPER": "e2e-pepper-0123456789abcdef",
    # The tests drive bursts through one identity; rate limits have their own tests.
    "GATEWAY_RATE_LIMIT_RPS": "0",
    "GATEWAY_ANON_RATE_LIMIT_RPS": "0",
}


def platform_env(*, known: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment minus anything pointing at other AWS or ports.

    Every port is 0, so the launcher binds one the OS picks (no other test can take it
    first); a port variable in `known` gets a free port chosen here instead, for a test
    that must know it before the launcher runs.
    """
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AWS_") and not name.endswith("_PORT")
    }
    ports = {spec.port_override: "0" for spec in SERVICES} | {"PROMETHEUS_PORT": "0"}
    ports |= {name: str(free_port()) for name in known}
    return {**inherited, **E2E_ENV, **ports}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data_dir = tmp_path_factory.mktemp("platform-data")
    running = Platform(env=platform_env(), data_dir=data_dir, ready_timeout=90)
    running.start()
    try:
        yield running
    finally:
        running.stop()
