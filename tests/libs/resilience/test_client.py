"""ResilientClient against real flaky uvicorn servers on loopback (and, where only the
algorithm is under test, in process through httpx.MockTransport on a fake clock).

No sleeps as synchronisation and no speed assertions: outcomes are asserted by
counting what each server saw, and time only through the deadline contract.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from resilience import (
    REQUEST_FAULT,
    REQUEST_FAULT_HEADER,
    Breaker,
    CircuitOpenError,
    ConcurrencyLimit,
    DeadlineExceededError,
    FullJitter,
    Hedge,
    Policy,
    ResilientClient,
    Retry,
    RetryBudget,
    Timeout,
    UpstreamUnavailableError,
)
from resilience.deadlines import deadline_scope
from tests.fixtures.resilience import Flaky
from tests.libs.resilience.test_properties import FakeClock

FAST_BACKOFF = FullJitter(base=0.001, cap=0.01)


async def test_retries_recover_transient_503s(flaky: Flaky) -> None:
    flaky.set("fail_every", every=2, status=503)  # 1st, 3rd, 5th ... fail
    policy = Policy(retry=Retry(attempts=3, backoff=FAST_BACKOFF), hedge=None, breaker=None)

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        responses = [await client.get("/work") for _ in range(10)]

    assert [r.status_code for r in responses] == [200] * 10
    assert flaky.count() == 20  # every call needed exactly one retry


async def test_non_idempotent_post_is_not_retried(flaky: Flaky) -> None:
    flaky.set("fail", status=503)
    policy = Policy(retry=Retry(attempts=3, backoff=FAST_BACKOFF), hedge=None, breaker=None)

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        with pytest.raises(UpstreamUnavailableError) as raised:
            await client.post("/work", json={})

    assert raised.value.status_code == 503
    assert flaky.count() == 1


async def test_post_opting_in_to_idempotency_is_retried(flaky: Flaky) -> None:
    flaky.set("fail_every", every=2, status=503)
    policy = Policy(retry=Retry(attempts=2, backoff=FAST_BACKOFF), hedge=None, breaker=None)

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        response = await client.post("/work", json={}, idempotent=True)

    assert response.status_code == 200
    assert flaky.count() == 2


async def test_client_errors_are_returned_not_retried(flaky: Flaky) -> None:
    flaky.set("fail", status=409)
    async with ResilientClient("flaky", [flaky.url], policy=Policy(hedge=None)) as client:
        response = await client.get("/work")

    assert response.status_code == 409
    assert flaky.count() == 1


async def test_an_endpoint_with_a_stuck_attempt_at_its_limit_gets_no_new_attempt(
    flaky: Flaky,
) -> None:
    flaky.set("hang")
    policy = Policy(
        timeout=Timeout(per_try=0.1, total=0.5),
        retry=Retry(attempts=5, backoff=FAST_BACKOFF),
        hedge=None,
        breaker=None,
    )

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        with pytest.raises(DeadlineExceededError):
            await client.get("/work")
        limits = client.endpoint_limits()

    assert flaky.count() == 1  # per-try timeouts did not pile retries onto it
    assert limits[flaky.url] == (1, 1)  # and the late attempt was not cancelled


async def test_a_call_queued_behind_a_busy_endpoint_sheds_at_its_deadline(flaky: Flaky) -> None:
    flaky.set("hang")
    policy = Policy(
        timeout=Timeout(per_try=0.5, total=0.5),
        hedge=None,
        breaker=None,
        limit=ConcurrencyLimit(max_limit=1),  # HAProxy's `maxconn 1`: never a probe
    )

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        outcomes = await asyncio.gather(
            client.get("/work"), client.get("/work"), return_exceptions=True
        )

    assert all(isinstance(o, DeadlineExceededError) for o in outcomes)
    assert any("queued" in str(o) for o in outcomes)
    assert flaky.count() == 1  # the queued call never reached the busy endpoint


async def test_a_stalled_endpoint_does_not_open_the_breaker_of_another(
    stalled_and_healthy: tuple[Flaky, Flaky],
) -> None:
    stalled, healthy = stalled_and_healthy
    policy = Policy(
        timeout=Timeout(per_try=0.1, total=2.0),
        retry=Retry(attempts=3, backoff=FAST_BACKOFF),
        hedge=Hedge(delay=0.02),
        breaker=Breaker(window=10, failure_rate=0.5, min_calls=2, slow_after=0.05),
    )

    async with ResilientClient(
        "pair", [stalled.url, healthy.url], policy=policy, rng=random.Random(3)
    ) as client:
        responses = [await client.get("/work") for _ in range(20)]
        states = client.breaker_states()

    assert all(r.status_code == 200 for r in responses)
    assert states[healthy.url] == "closed"


async def test_an_endpoint_that_answers_out_of_order_learns_a_limit_above_one(
    flaky: Flaky,
) -> None:
    # The 1st request is slow and the probe sent behind it is fast: it overtakes, which
    # only an endpoint that works on requests side by side can do.
    flaky.set("ok", odd_delay_ms=500)
    policy = Policy(hedge=None, breaker=None)

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        await asyncio.gather(*(client.get("/work") for _ in range(2)))
        limit, _ = client.endpoint_limits()[flaky.url]

    assert limit == 2


async def test_a_body_that_does_not_decode_is_a_failed_attempt_not_an_escaped_error(
    flaky: Flaky,
) -> None:
    flaky.set("bad_gzip")
    policy = Policy(retry=Retry(attempts=2, backoff=FAST_BACKOFF), hedge=None, breaker=None)

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        with pytest.raises(UpstreamUnavailableError, match="DecodingError"):
            await client.get("/work")

    assert flaky.count() == 2  # classified like any failed attempt: retried once


async def test_remaining_deadline_is_propagated_and_inbound_deadline_narrows_it(
    flaky: Flaky,
) -> None:
    policy = Policy(timeout=Timeout(per_try=0.8, total=2.5), hedge=None)

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        with deadline_scope(0.4):
            await client.get("/work")

    sent = int(str(flaky.stats()["deadline"]))
    assert 0 < sent <= 400


async def test_breaker_opens_during_outage_and_closes_after_recovery(flaky: Flaky) -> None:
    clock = FakeClock()
    policy = Policy(
        retry=Retry(attempts=1),
        breaker=Breaker(window=10, failure_rate=0.5, min_calls=5, open_for=30, half_open_probes=1),
        hedge=None,
    )
    flaky.set("fail", status=503)
    async with ResilientClient("flaky", [flaky.url], policy=policy, clock=clock) as client:
        for _ in range(5):
            with pytest.raises(UpstreamUnavailableError):
                await client.get("/work")
        calls_before_open = flaky.count()
        for _ in range(20):
            with pytest.raises(CircuitOpenError):
                await client.get("/work")
        assert flaky.count() == calls_before_open  # open: the upstream was not called

        flaky.set("ok")
        clock.now += 30  # the open period passes
        response = await client.get("/work")  # the half-open probe
        assert client.breaker_states() == {flaky.url: "closed"}

    assert response.status_code == 200
    assert calls_before_open == 5


async def test_retry_budget_caps_upstream_load_during_a_total_outage(flaky: Flaky) -> None:
    flaky.set("fail", status=503)
    budget = RetryBudget(ratio=0.2, min_per_s=0.1, window_s=10)  # floor: 1 retry
    policy = Policy(
        retry=Retry(attempts=3, backoff=FAST_BACKOFF, budget=budget), breaker=None, hedge=None
    )
    calls = 100

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        for _ in range(calls):
            with pytest.raises(UpstreamUnavailableError):
                await client.get("/work")

    assert flaky.count() <= calls * 1.2 + 1


async def test_a_hedge_beats_a_stalled_replica_and_races_the_original_without_cancelling_it(
    stalled_and_healthy: tuple[Flaky, Flaky],
) -> None:
    stalled, healthy = stalled_and_healthy
    policy = Policy(
        timeout=Timeout(per_try=5.0, total=5.0),
        retry=Retry(attempts=1),
        hedge=Hedge(delay=0.05),
        breaker=None,
    )

    async with ResilientClient(
        "pair", [stalled.url, healthy.url], policy=policy, rng=random.Random(1)
    ) as client:
        responses = await asyncio.gather(*(client.get("/work") for _ in range(10)))
        in_flight_on_stalled = client.endpoint_limits()[stalled.url][1]

    healthy_port = healthy.url.rsplit(":", 1)[1]
    assert all(r.status_code == 200 for r in responses)
    assert all(r.json()["served_by"] == healthy_port for r in responses)
    assert stalled.count() > 0  # the stalled replica was tried, and lost to the hedge
    assert in_flight_on_stalled == stalled.count()  # its attempts still run: none cancelled
    assert stalled.count() <= 2  # limit 1: the original, at most one early probe


async def test_p2c_sends_every_call_to_the_faster_replica_once_both_are_measured() -> None:
    # In process: each replica "takes" its latency on a fake clock, so the costs P2C
    # compares are exact and the outcome is the algorithm's, not the machine's speed.
    clock = FakeClock()
    latency = {"fast.test": 0.01, "slow.test": 0.1}
    served: list[str] = []

    def replica(request: httpx.Request) -> httpx.Response:
        clock.now += latency[request.url.host]
        served.append(request.url.host)
        return httpx.Response(200)

    policy = Policy(
        hedge=None, timeout=Timeout(per_try=2, total=2), limit=ConcurrencyLimit(initial=8)
    )
    async with ResilientClient(
        "pair",
        ["http://fast.test", "http://slow.test"],
        policy=policy,
        transport=httpx.MockTransport(replica),
        clock=clock,
        rng=random.Random(7),
    ) as client:
        for _ in range(50):
            await client.get("/work")

    # The first two calls measure each replica once (an unmeasured one looks cheapest).
    assert sorted(served[:2]) == ["fast.test", "slow.test"]
    assert served[2:] == ["fast.test"] * 48


async def test_fallback_turns_an_open_circuit_into_a_response(flaky: Flaky) -> None:
    flaky.set("fail", status=503)
    policy = Policy(retry=Retry(attempts=1), breaker=Breaker(min_calls=2, open_for=60), hedge=None)

    async def cached(_error: Exception) -> httpx.Response:
        return httpx.Response(200, json={"cached": True})

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        answers = [await client.get("/work", fallback=cached) for _ in range(5)]

    assert all(a.json() == {"cached": True} for a in answers)
    assert flaky.count() == 2  # after the breaker opened, the fallback answered alone


CLIENT_ERROR_BREAKER = Breaker(window=10, failure_rate=0.5, min_calls=5, open_for=30)


@pytest.mark.parametrize("status", [400, 404, 409, 413, 422, 429])
async def test_client_errors_never_open_the_breaker(flaky: Flaky, status: int) -> None:
    flaky.set("fail", status=status)
    policy = Policy(retry=Retry(attempts=1), breaker=CLIENT_ERROR_BREAKER, hedge=None)
    calls = 20

    async def answer(client: ResilientClient) -> int | None:
        try:
            return (await client.get("/work")).status_code
        except UpstreamUnavailableError as error:  # 429 is retryable: its tries ran out
            return error.status_code

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        statuses = [await answer(client) for _ in range(calls)]
        states = client.breaker_states()

    assert statuses == [status] * calls
    assert states == {flaky.url: "closed"}
    assert flaky.count() == calls


async def test_a_5xx_the_upstream_marks_as_caused_by_the_request_is_returned_as_is(
    flaky: Flaky,
) -> None:
    flaky.set("fail", status=503, headers={REQUEST_FAULT_HEADER: REQUEST_FAULT})
    policy = Policy(
        retry=Retry(attempts=3, backoff=FAST_BACKOFF), breaker=CLIENT_ERROR_BREAKER, hedge=None
    )
    calls = 20

    async with ResilientClient("flaky", [flaky.url], policy=policy) as client:
        statuses = [(await client.get("/work")).status_code for _ in range(calls)]
        states = client.breaker_states()

    assert statuses == [503] * calls
    assert states == {flaky.url: "closed"}
    assert flaky.count() == calls, "a request-caused failure would fail again: no retry"


async def test_an_uncontended_attempt_is_sent_within_one_turn_of_the_loop() -> None:
    """With an endpoint free and no call queued, the attempt leaves in the turn the call
    was made in, not one later: on a loop busy with hundreds of requests (the predictor
    admitting a wave) each turn costs tens of milliseconds, paid by every batch."""
    loop = asyncio.get_running_loop()
    order: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        order.append("sent")
        return httpx.Response(200)

    def first_turn() -> None:
        order.append("turn 1")
        loop.call_soon(order.append, "turn 2")

    policy = Policy(hedge=None)
    transport = httpx.MockTransport(handler)
    async with ResilientClient("turns", ["http://one"], policy=policy, transport=transport) as c:
        loop.call_soon(first_turn)
        response = await c.get("/work")

    assert response.status_code == 200
    assert order.index("sent") < order.index("turn 2")
