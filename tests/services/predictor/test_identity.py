"""With PLATFORM_IDENTITY_SECRET set the predictor trusts only the gateway's signed
identity, like every service; the mock backend's control routes are off by default."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from identity import Identity
from identity.client import SignedCaller
from tests.fixtures.predictor import (
    FAST_BACKEND,
    PredictorWithBackend,
    agent,
    start_backend,
    start_platform,
)

SECRET = "predictor-test-identity-secret-0123456789"  # pragma: allowlist secret


@pytest.fixture(scope="module")
def guarded() -> Iterator[PredictorWithBackend]:
    platform = start_platform(FAST_BACKEND, {"PLATFORM_IDENTITY_SECRET": SECRET})
    try:
        yield platform
    finally:
        platform.predictor.stop()
        platform.backend.stop()


def test_an_unsigned_direct_prediction_is_401(guarded: PredictorWithBackend) -> None:
    body = {"agents": {"a": agent([1.0, 2.0], "m", "t")}}

    response = httpx.post(f"{guarded.predictor.url}/predict", json=body)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_prediction_signed_as_the_gateway_signs_is_served(guarded: PredictorWithBackend) -> None:
    body = {"agents": {"a": agent([1.0, 2.0], "m", "t")}}
    auth = SignedCaller(SECRET.encode(), Identity("alice", "api-key"))

    response = httpx.post(f"{guarded.predictor.url}/predict", json=body, auth=auth, timeout=10)

    assert response.status_code == 200, response.text
    assert response.json()["results"]["a"]["output"] == 3.0


def test_probes_need_no_identity(guarded: PredictorWithBackend) -> None:
    assert httpx.get(f"{guarded.predictor.url}/livez").status_code == 200
    assert httpx.get(f"{guarded.predictor.url}/readyz").status_code == 200


def test_the_backend_control_routes_are_off_unless_enabled() -> None:
    backend = start_backend(BACKEND_LATENCY_MIN="0", BACKEND_LATENCY_MAX="0")
    try:
        paused = httpx.post(f"{backend.url}/control/pause")
        stats = httpx.get(f"{backend.url}/stats")
    finally:
        backend.stop()

    assert paused.status_code == 404
    assert paused.headers["content-type"].startswith("application/problem+json")
    assert stats.status_code == 200, "read-only counters stay open"
