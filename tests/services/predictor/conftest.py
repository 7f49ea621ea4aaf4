"""The predictor and its mock backend as real processes on loopback (time-scaled)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tools.procs import ServerProcess, start_module

# 3-7 s per call scaled to 50-100 ms; model "broken" always fails.
FAST_BACKEND = {
    "BACKEND_LATENCY_MIN": "0.05",
    "BACKEND_LATENCY_MAX": "0.1",
    "BACKEND_FAILURE_RATES": '{"broken": 1.0}',
    "BACKEND_CONTROL_ROUTES": "true",  # tests hold calls in flight with /control/pause
}


@dataclass
class Service:
    url: str
    process: ServerProcess

    def stop(self) -> None:
        self.process.stop()


@dataclass
class Platform:
    predictor: Service
    backend: Service

    async def backend_stats(self) -> dict:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{self.backend.url}/stats")).json()

    def control(self, action: str) -> None:
        """Pause or resume the backend's calls."""
        httpx.post(f"{self.backend.url}/control/{action}").raise_for_status()

    async def metric(self, name: str, **labels: str) -> float:
        """A sample of the predictor's /metrics (0 when the series does not exist)."""
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"{self.predictor.url}/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0


def start_backend(**env: str) -> Service:
    run_env = {"BACKEND_LOG_LEVEL": "WARNING", **env}
    return Service(*start_module("model_backend", "BACKEND_PORT", env=run_env))


def start_predictor(backends: list[Service], **env: str) -> Service:
    run_env = {
        "PREDICTOR_BACKEND_URLS": ",".join(b.url for b in backends),
        "PREDICTOR_LOG_LEVEL": "WARNING",
        **env,
    }
    return Service(*start_module("predictor", "PREDICTOR_PORT", env=run_env))


def start_platform(backend_env: dict[str, str], predictor_env: dict[str, str]) -> Platform:
    backend = start_backend(**backend_env)
    try:
        return Platform(start_predictor([backend], **predictor_env), backend)
    except BaseException:
        backend.stop()
        raise


@pytest.fixture(scope="package")
def fast_platform() -> Iterator[Platform]:
    """Defaults (64 per batch, 50 ms wait, 8 in flight) over a 50-100 ms backend."""
    platform = start_platform(FAST_BACKEND, {})
    try:
        yield platform
    finally:
        platform.predictor.stop()
        platform.backend.stop()


@pytest.fixture(scope="package")
def gated_platform() -> Iterator[Platform]:
    """One batch in flight per key, two agents queued per key, no wait: with the backend
    paused, a test holds a key's only slot and fills its queue deterministically."""
    platform = start_platform(
        FAST_BACKEND,
        {
            "PREDICTOR_MAX_CONCURRENT_BATCHES": "1",
            "PREDICTOR_MAX_QUEUE": "2",
            "PREDICTOR_MAX_WAIT_MS": "0",
        },
    )
    try:
        yield platform
    finally:
        platform.control("resume")
        platform.predictor.stop()
        platform.backend.stop()


def agent(vector: list[float], model: str, agent_type: str) -> dict:
    return {"vector": vector, "model": model, "agent_type": agent_type}
