"""Token-bucket limits: the algorithm (fake clock, property-tested) and the real edge."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.auth.ratelimit import Limit, RateLimiter
from tests.fixtures.gateway import Service, api_key, issue_key, start_gateway


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_is_admitted_then_refused_with_the_time_until_a_token_returns() -> None:
    clock, limit = FakeClock(), Limit(rate=0.5, burst=3)
    limiter = RateLimiter(clock=clock)

    admitted = [limiter.take("alice", limit) for _ in range(3)]
    refused = limiter.take("alice", limit)

    assert all(d is not None and d.allowed for d in admitted)
    assert refused is not None
    assert not refused.allowed
    assert refused.retry_after_s == 2  # one token per 2 s
    assert refused.headers()["Retry-After"] == "2"
    assert (refused.limit, refused.remaining, refused.reset_s) == (3, 0, 6)


def test_a_token_is_back_after_retry_after_seconds() -> None:
    clock, limit = FakeClock(), Limit(rate=0.5, burst=1)
    limiter = RateLimiter(clock=clock)
    limiter.take("alice", limit)
    refused = limiter.take("alice", limit)
    assert refused is not None

    clock.now += refused.retry_after_s

    again = limiter.take("alice", limit)
    assert again is not None
    assert again.allowed


def test_one_callers_empty_bucket_leaves_others_untouched() -> None:
    limiter, limit = RateLimiter(clock=FakeClock()), Limit(rate=1, burst=1)
    limiter.take("alice", limit)

    bob = limiter.take("bob", limit)

    assert bob is not None
    assert bob.allowed


def test_a_zero_rate_disables_the_limit() -> None:
    assert RateLimiter().take("alice", Limit(rate=0, burst=1)) is None


def test_a_full_bucket_table_forgets_the_least_recently_seen_caller() -> None:
    limiter, limit = RateLimiter(max_buckets=2, clock=FakeClock()), Limit(rate=1, burst=1)
    for caller in ("a", "b", "c"):
        limiter.take(caller, limit)  # each spends its only token; "a" is forgotten

    forgotten = limiter.take("a", limit)  # a fresh, full bucket (and "b" is forgotten)
    remembered = limiter.take("c", limit)

    assert forgotten is not None
    assert forgotten.allowed
    assert remembered is not None
    assert not remembered.allowed


@given(
    rate=st.floats(min_value=0.1, max_value=100),
    burst=st.integers(min_value=1, max_value=50),
    gaps=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=200),
)
def test_admitted_requests_never_exceed_burst_plus_refill(
    rate: float, burst: int, gaps: list[float]
) -> None:
    clock, limit = FakeClock(), Limit(rate=rate, burst=burst)
    limiter = RateLimiter(clock=clock)
    admitted = 0
    for gap in gaps:
        clock.now += gap
        decision = limiter.take("caller", limit)
        assert decision is not None
        admitted += decision.allowed
        if not decision.allowed:
            assert 1 <= decision.retry_after_s <= math.ceil(1 / rate)

    assert admitted <= burst + rate * clock.now + 1e-6


# --- through a real gateway ------------------------------------------------------------

BURST = 3
RATE = 0.01  # one token per 100 s: nothing refills while the test runs


def start_limited(keys_db: Path, **env: str) -> Service:
    return start_gateway(
        [],
        GATEWAY_READY_REQUIRES_REMOTE="false",
        GATEWAY_KEYS_DB=str(keys_db),
        GATEWAY_RATE_LIMIT_RPS=str(RATE),
        GATEWAY_RATE_LIMIT_BURST=str(BURST),
        GATEWAY_ANON_RATE_LIMIT_RPS=str(RATE),
        GATEWAY_ANON_RATE_LIMIT_BURST=str(BURST),
        **env,
    )


@pytest.fixture(scope="module")
def limited(keys_db: Path) -> Iterator[Service]:
    # The test client stands in for the load balancer: its X-Forwarded-For is believed.
    gateway = start_limited(keys_db, GATEWAY_TRUSTED_PROXIES="127.0.0.1")
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def untrusting(keys_db: Path) -> Iterator[Service]:
    gateway = start_limited(keys_db)  # no GATEWAY_TRUSTED_PROXIES: the default
    try:
        yield gateway
    finally:
        gateway.stop()


def hello(gateway: Service, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{gateway.url}/graphql", json={"query": "{ hello }"}, headers=headers)


def test_burst_above_the_bucket_is_429_with_retry_after(limited: Service, keys_db: Path) -> None:
    alice = api_key(issue_key(keys_db, "alice"))
    admitted = [hello(limited, alice) for _ in range(BURST)]

    refused = hello(limited, alice)

    assert [r.status_code for r in admitted] == [200] * BURST
    assert admitted[-1].headers["ratelimit-remaining"] == "0"
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    # ceil((1 - tokens) / rate) with tokens refilled only by the milliseconds elapsed.
    assert int(refused.headers["retry-after"]) in (math.ceil(1 / RATE) - 1, math.ceil(1 / RATE))
    assert refused.headers["ratelimit-limit"] == str(BURST)
    assert refused.headers["ratelimit-remaining"] == "0"


def test_another_identity_is_unaffected_by_a_throttled_one(limited: Service, keys_db: Path) -> None:
    throttled, other = api_key(issue_key(keys_db, "noisy")), api_key(issue_key(keys_db, "quiet"))
    for _ in range(BURST + 1):
        hello(limited, throttled)

    assert hello(limited, throttled).status_code == 429
    assert hello(limited, other).status_code == 200


def test_anonymous_callers_are_limited_per_client_ip(limited: Service) -> None:
    noisy, quiet = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.8"}
    for _ in range(BURST):
        hello(limited, noisy)

    assert hello(limited, noisy).status_code == 429
    assert hello(limited, quiet).status_code == 200


def test_forwarded_for_from_a_peer_that_is_no_trusted_proxy_buys_no_fresh_bucket(
    untrusting: Service,
) -> None:
    for i in range(BURST):
        hello(untrusting, {"X-Forwarded-For": f"203.0.113.{i}"})

    refused = hello(untrusting, {"X-Forwarded-For": "203.0.113.99"})

    assert refused.status_code == 429
