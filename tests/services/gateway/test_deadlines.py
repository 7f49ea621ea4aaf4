"""`X-Request-Deadline-Ms` is honoured after admission, never instead of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.gateway import Service, api_key, issue_key, start_gateway

BURST = 3
RATE = 0.01  # one token per 100 s: nothing refills while the test runs
EXPIRED = {"X-Request-Deadline-Ms": "0"}


@pytest.fixture(scope="module")
def gateway(keys_db: Path) -> Iterator[Service]:
    service = start_gateway(
        [],
        GATEWAY_READY_REQUIRES_REMOTE="false",
        GATEWAY_KEYS_DB=str(keys_db),
        GATEWAY_ANON_RATE_LIMIT_RPS=str(RATE),
        GATEWAY_ANON_RATE_LIMIT_BURST=str(BURST),
    )
    try:
        yield service
    finally:
        service.stop()


def hello(gateway: Service, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{gateway.url}/graphql", json={"query": "{ hello }"}, headers=headers)


def availability(gateway: Service, headers: dict[str, str]) -> dict:
    slos = httpx.get(f"{gateway.url}/slo", headers=headers).json()["slos"]
    return next(slo for slo in slos if slo["name"] == "availability")


def test_an_expired_deadline_from_a_bad_credential_is_still_401(gateway: Service) -> None:
    response = hello(gateway, {**EXPIRED, "Authorization": "Api-Key pk_nobody_wrong"})

    assert response.status_code == 401


def test_an_anonymous_expired_deadline_is_raised_to_the_floor_and_served(
    gateway: Service,
) -> None:
    response = hello(gateway, EXPIRED)

    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "Hello World"}}


def test_anonymous_expired_deadlines_are_rate_limited(gateway: Service) -> None:
    answers = [hello(gateway, EXPIRED).status_code for _ in range(BURST + 1)]

    assert answers[-1] == 429
    assert 504 not in answers


def test_an_identified_callers_expired_deadline_is_504_and_spends_no_error_budget(
    gateway: Service, keys_db: Path
) -> None:
    key = api_key(issue_key(keys_db, "hasty"))
    before = availability(gateway, key)

    response = httpx.put(f"{gateway.url}/api/kv", json={"key": "k"}, headers={**key, **EXPIRED})

    after = availability(gateway, key)
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert after["total"] - before["total"] == after["good"] - before["good"]
