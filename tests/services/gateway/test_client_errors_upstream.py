"""Bad input sent through the gateway to the real dumbkv and predictor stays a 4xx and never
opens the gateway's breakers for other callers (issue 17, finding 3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.gateway import Service, start_gateway
from tools.procs import start_module

# Above the gateway's service breaker minimum (10 calls in its window).
REPEATS = 12
OVERFLOWING = [1e308, 1e308]  # finite elements whose sum is not


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db: Path = tmp_path_factory.mktemp("kv") / "dumbkvstore" / "dumbkv.db"
    started: list[Service] = []
    try:
        kv = Service(*start_module("dumbkv", "DUMBKV_PORT", env={
            "DATABASE_TYPE": "sqlite", "DATABASE_LOCATION": str(db),
            "DUMBKV_PEPPER": "gateway-test-pepper"}, ready_path="/livez"))  # fmt: skip
        started.append(kv)
        backend = Service(*start_module("model_backend", "BACKEND_PORT", env={
            "BACKEND_LATENCY_MIN": "0.01", "BACKEND_LATENCY_MAX": "0.02"}))  # fmt: skip
        started.append(backend)
        predictor = Service(*start_module("predictor", "PREDICTOR_PORT", env={
            "PREDICTOR_BACKEND_URLS": backend.url}))  # fmt: skip
        started.append(predictor)
        edge = start_gateway(
            [], GATEWAY_DUMBKV_URL=kv.url, GATEWAY_PREDICTOR_URL=predictor.url,
            GATEWAY_AUTH_MODE="off",
        )  # fmt: skip
        started.append(edge)
        yield edge.url
    finally:
        for service in reversed(started):
            service.stop()


def _problem(response: httpx.Response, status: int) -> bool:
    content_type = response.headers.get("content-type", "")
    return response.status_code == status and content_type.startswith("application/problem+json")


def test_versions_beyond_64_bits_are_422_and_leave_the_kv_breaker_closed(gateway: str) -> None:
    with httpx.Client(base_url=gateway, timeout=10) as client:
        refused = [
            client.put("/api/kv", json={"key": f"k{i}", "value": "v", "version": 2**63})
            for i in range(REPEATS)
        ]
        bad_tag = client.put("/api/kv", json={"key": "t", "value": "v"},
                             headers={"If-Match": f'"v{2**63}"'})  # fmt: skip
        written = client.put("/api/kv", json={"key": "after", "value": "v"})

    assert all(_problem(response, 422) for response in refused), refused[0].text
    assert _problem(bad_tag, 400)
    assert written.status_code == 200


def test_poisoned_predictions_are_422_and_leave_the_predictor_breaker_closed(
    gateway: str,
) -> None:
    poison = {"agents": {"x": {"vector": OVERFLOWING, "model": "m", "agent_type": "t"}}}
    healthy = {"agents": {"y": {"vector": [1.0, 2.0], "model": "m", "agent_type": "t"}}}
    with httpx.Client(base_url=gateway, timeout=30) as client:
        refused = [client.post("/api/predict", json=poison) for _ in range(REPEATS)]
        served = client.post("/api/predict", json=healthy)

    assert all(_problem(response, 422) for response in refused), refused[0].text
    assert served.status_code == 200
    assert served.json()["results"]["y"]["output"] == 3.0


def test_a_dot_dot_model_name_is_a_422(gateway: str) -> None:
    body = {"agents": {"x": {"vector": [1.0], "model": "..", "agent_type": "t"}}}

    response = httpx.post(f"{gateway}/api/predict", json=body, timeout=10)

    assert _problem(response, 422)


def test_a_lone_surrogate_in_a_value_is_a_422(gateway: str) -> None:
    body = '{"key": "surrogate", "value": "\\ud800"}'  # escaped: valid UTF-8 JSON text

    response = httpx.put(
        f"{gateway}/api/kv", content=body, headers={"content-type": "application/json"}
    )

    assert _problem(response, 422)
