"""With the platform's identity secret the remote answers only what the gateway signed.

Real processes: a remote and a gateway started with the same secret, as `make run`
starts them. Without a secret the remote stays open to anyone (test_fault_model).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tools.procs import start_module

SECRET = "remote-identity-test-secret-0123456789"  # pragma: allowlist secret
CALM = {
    "REMOTE_FAILURE_503_RATE": "0",
    "REMOTE_FAILURE_500_RATE": "0",
    "REMOTE_STALL_RATE": "0",
    "REMOTE_OUTAGE_MINUTES": "0",
    "REMOTE_TIME_SCALE": "0.01",
    "REMOTE_SEED": "1",
}


@dataclass(frozen=True)
class Signed:
    remote: str
    gateway: str


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    remote_url, remote = start_module(
        "remote", "REMOTE_PORT", env={**CALM, "PLATFORM_IDENTITY_SECRET": SECRET}
    )
    try:
        gateway_url, gateway = start_module(
            "gateway",
            "GATEWAY_PORT",
            env={
                "GATEWAY_REMOTE_URLS": remote_url,
                "GATEWAY_KEYS_DB": str(tmp_path_factory.mktemp("keys") / "keys.db"),
                "GATEWAY_STALE_CACHE_SIZE": "0",  # every answer comes from the remote
                "PLATFORM_IDENTITY_SECRET": SECRET,
            },
            ready_path="/livez",
        )
        try:
            yield Signed(remote_url, gateway_url)
        finally:
            gateway.kill()
    finally:
        remote.kill()


def test_an_unsigned_invoke_is_refused_before_the_fault_model_sees_it(signed: Signed) -> None:
    refused = httpx.post(f"{signed.remote}/invoke", json={"input": "direct"})
    stats = httpx.get(f"{signed.remote}/_stats")

    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert stats.status_code == 200, "the counters stay open to tests and benchmarks"
    assert stats.json()["received"] == 0


def test_the_gateway_signs_its_invoke_calls_so_the_remote_answers(signed: Signed) -> None:
    query = {"query": '{ invoke(input: "hi") { output cached } }'}

    response = httpx.post(f"{signed.gateway}/graphql", json=query, timeout=10)

    assert response.status_code == 200
    assert response.json() == {"data": {"invoke": {"output": "aGk=", "cached": False}}}


def test_the_chaos_control_keeps_its_own_token_and_needs_no_identity(signed: Signed) -> None:
    wrong = httpx.post(
        f"{signed.remote}/_chaos", json={"duration_s": 0}, headers={"X-Chaos-Token": "nope"}
    )

    assert wrong.status_code == 404, "no REMOTE_CHAOS_TOKEN: disabled, whoever asks"
