"""The gateway in front of a flaky remote: real processes, time-scaled, seeded."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.gateway import (
    CALM,
    Service,
    chaos,
    invocations,
    start_gateway,
    start_remote,
)

QUERY = "query($v: String!) { invoke(input: $v) { latencyMs output cached } }"


async def _invoke_many(url: str, count: int, concurrency: int) -> list[dict]:
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def one(i: int) -> dict:
            async with semaphore:
                response = await client.post(
                    "/graphql", json={"query": QUERY, "variables": {"v": f"value-{i}"}}
                )
                return response.json()

        return await asyncio.gather(*(one(i) for i in range(count)))


def _metrics(service: Service) -> str:
    return httpx.get(f"{service.url}/metrics").text


def _stats(remote: Service) -> dict[str, int]:
    return httpx.get(f"{remote.url}/_stats").json()


def _received(remote: Service) -> int:
    return int(_stats(remote)["received"])


async def test_a_stalled_serialized_replica_gets_no_new_call_while_the_other_answers() -> None:
    # Serialized replicas (the default), as the original: a stall blocks the replica.
    calm_unscaled = {**CALM, "REMOTE_TIME_SCALE": "1", "REMOTE_LATENCY_MAX_MS": "5"}
    stalled, healthy = start_remote(seed=5, **calm_unscaled), start_remote(seed=6, **calm_unscaled)
    gateway = start_gateway([stalled, healthy])
    try:
        chaos(stalled, latency_ms=60_000, duration_s=600)  # every call there stalls 60 s
        replies = await _invoke_many(gateway.url, 40, concurrency=4)
        sent_to_stalled = _received(stalled)
        metrics = _metrics(gateway)
    finally:
        gateway.stop()
        stalled.stop()
        healthy.stop()

    assert all(body["data"]["invoke"]["output"] for body in replies)
    assert sent_to_stalled <= 2  # the first call, at most one probe; then nothing
    states = {
        sample.labels["endpoint"]: sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "resilience_breaker_state"
        for sample in family.samples
    }
    assert states[healthy.url] == 0  # the other replica's breaker stayed closed


async def test_forced_outage_opens_the_breaker_and_stops_calling_the_remote() -> None:
    remote = start_remote(seed=3, **CALM)
    gateway = start_gateway([remote], GATEWAY_STALE_CACHE_SIZE="0", GATEWAY_BREAKER_OPEN_S="600")
    try:
        chaos(remote, outage_s=600)
        codes: list[str] = []
        for _ in range(200):  # bounded: the breaker needs min_calls failures first
            body = (await _invoke_many(gateway.url, 1, 1))[0]
            codes.append(body["errors"][0]["extensions"]["code"])
            if codes[-1] == "CIRCUIT_OPEN":
                break
        reached = invocations(remote)
        later = await _invoke_many(gateway.url, 30, concurrency=5)
        reached_after = invocations(remote)
    finally:
        gateway.stop()
        remote.stop()

    assert codes[-1] == "CIRCUIT_OPEN"
    assert {body["errors"][0]["extensions"]["code"] for body in later} == {"CIRCUIT_OPEN"}
    assert reached_after == reached  # open: not one call reached the remote


async def test_cached_answer_is_served_while_the_circuit_is_open() -> None:
    remote = start_remote(seed=4, **CALM)
    gateway = start_gateway([remote], GATEWAY_BREAKER_OPEN_S="600")
    try:
        await _invoke_many(gateway.url, 1, 1)  # value-0 is now cached
        body: dict = {}
        chaos(remote, outage_s=600)
        for _ in range(100):
            body = (await _invoke_many(gateway.url, 1, 1))[0]
            if body["data"] and body["data"]["invoke"]["cached"]:
                break
    finally:
        gateway.stop()
        remote.stop()

    assert body["data"]["invoke"]["cached"] is True


async def test_traffic_shifts_away_from_a_stalling_replica() -> None:
    calm_unscaled = {**CALM, "REMOTE_TIME_SCALE": "1", "REMOTE_LATENCY_MAX_MS": "10"}
    stalling, healthy = start_remote(seed=5, **calm_unscaled), start_remote(seed=6, **calm_unscaled)
    gateway = start_gateway([stalling, healthy])
    try:
        chaos(stalling, latency_ms=3000, duration_s=600)  # every answer after the deadline
        replies = await _invoke_many(gateway.url, 100, concurrency=4)
        at_stalling, answered_by_healthy = _stats(stalling), invocations(healthy)
    finally:
        gateway.stop()
        stalling.stop()
        healthy.stop()

    assert all(body["data"]["invoke"]["output"] for body in replies)
    # A 3 s answer misses the 2.5 s deadline: every reply came from the healthy replica.
    assert answered_by_healthy >= len(replies)
    # The stalling replica is sent no pile: its one slot stays taken by the stalled call
    # (attempts are not cancelled), so at most one more call waits behind it.
    assert at_stalling["received"] - at_stalling["invocations"] <= 1
