"""The gateway's /readyz: ready while at least one remote replica can take a call."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.gateway import CALM, Service, chaos, start_gateway, start_remote

MAX_CALLS = 100  # the breaker opens after 20 calls at 50 % failures; bounded anyway
INVOKE = "query($v: String!) { invoke(input: $v) { output } }"


@pytest.fixture
def one_replica() -> Iterator[tuple[Service, Service]]:
    remote = start_remote(seed=3, **CALM)
    gateway = start_gateway([remote], GATEWAY_BREAKER_OPEN_S="300")  # stays open
    try:
        yield gateway, remote
    finally:
        gateway.stop()
        remote.stop()


def invoke_code(gateway: Service, value: str) -> str | None:
    body = httpx.post(
        f"{gateway.url}/graphql", json={"query": INVOKE, "variables": {"v": value}}, timeout=10
    ).json()
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else None


def test_ready_with_its_one_replica_answering(one_replica: tuple[Service, Service]) -> None:
    gateway, _ = one_replica

    assert httpx.get(f"{gateway.url}/readyz").status_code == 200


def test_not_ready_once_the_breaker_of_its_one_replica_is_open(
    one_replica: tuple[Service, Service],
) -> None:
    gateway, remote = one_replica
    chaos(remote, outage_s=300)
    codes = []
    for i in range(MAX_CALLS):
        codes.append(invoke_code(gateway, f"call {i}"))
        if codes[-1] == "CIRCUIT_OPEN":
            break

    response = httpx.get(f"{gateway.url}/readyz")

    assert codes[-1] == "CIRCUIT_OPEN"
    assert response.status_code == 503
