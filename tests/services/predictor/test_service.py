"""The predictor and its backend as real processes: batching, partial failures, admission,
disconnects and deadlines, over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import math

import httpx
import pytest

from tests.fixtures.polling import wait_until
from tests.fixtures.predictor import PredictorWithBackend, agent


async def post(platform: PredictorWithBackend, agents: dict, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=platform.predictor.url, timeout=30) as client:
        return await client.post("/predict", json={"agents": agents}, headers=headers)


async def test_concurrent_clients_share_far_fewer_backend_calls_than_agents(
    fast_platform: PredictorWithBackend,
) -> None:
    clients = 100
    requests = [
        {f"c{c}-{i}": agent([float(c), float(i), 0.5], "batching", "ab"[i % 2]) for i in range(4)}
        for c in range(clients)
    ]
    before = await fast_platform.backend_stats()

    responses = await asyncio.gather(*(post(fast_platform, agents) for agents in requests))

    after = await fast_platform.backend_stats()
    for agents, response in zip(requests, responses, strict=True):
        assert response.status_code == 200
        results = response.json()["results"]
        assert results.keys() == agents.keys()
        for agent_id, sent in agents.items():
            assert results[agent_id]["output"] == math.fsum(sent["vector"])
            assert results[agent_id]["agent_type"] == sent["agent_type"]
    calls = sum(
        after["calls_by_key"].get(k, 0) - before["calls_by_key"].get(k, 0)
        for k in ("batching/a", "batching/b")
    )
    agents_sent = clients * 4
    assert calls * 5 <= agents_sent, f"{calls} backend calls for {agents_sent} agents"


async def test_a_failing_model_fails_only_its_agents_with_a_200(
    fast_platform: PredictorWithBackend,
) -> None:
    response = await post(
        fast_platform,
        {
            "good": agent([1.0, 2.0], "healthy", "t"),
            "bad": agent([1.0, 2.0], "broken", "t"),
            "good2": agent([3.0], "healthy", "u"),
        },
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert results["good"] == {"model": "healthy", "agent_type": "t", "output": 3.0}
    assert results["good2"]["output"] == 3.0
    assert results["bad"]["error"]["code"] == "backend_error"
    assert "output" not in results["bad"]


async def test_a_request_whose_agents_all_failed_is_a_502_problem(
    fast_platform: PredictorWithBackend,
) -> None:
    response = await post(fast_platform, {"x": agent([1.0], "broken", "t")})

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["results"]["x"]["error"]["code"] == "backend_error"


@pytest.mark.parametrize(
    "agents",
    [
        {"a": agent([1.0, 2.0], "m", "t"), "b": agent([1.0], "m", "t")},  # dimension mismatch
        {},
        {f"a{i}": agent([1.0], "m", "t") for i in range(257)},
        {"a": agent([], "m", "t")},
        {"a": agent([0.0] * 4097, "m", "t")},
        {"a": {**agent([1.0], "m", "t"), "extra": 1}},
        {"a": agent([1.0], "bad/model", "t")},
        {"a": agent([1.0], "..", "t")},  # a path segment the URL would normalise away
        {"a": agent([1.0], "m", ".")},
    ],
    ids=[
        *("dimension", "empty", "too-many", "no-elements", "too-long", "extra", "name"),
        *("dotdot", "dot"),
    ],
)
async def test_bad_input_is_a_422_before_any_backend_call(
    fast_platform: PredictorWithBackend, agents: dict
) -> None:
    before = (await fast_platform.backend_stats())["calls"]

    response = await post(fast_platform, agents)

    assert response.status_code == 422
    assert (await fast_platform.backend_stats())["calls"] == before


@pytest.mark.parametrize("token", ["1e999", "NaN", "Infinity", "-Infinity"])
async def test_non_finite_elements_are_a_422(
    fast_platform: PredictorWithBackend, token: str
) -> None:
    body = f'{{"agents": {{"a": {{"vector": [{token}], "model": "m", "agent_type": "t"}}}}}}'
    async with httpx.AsyncClient(base_url=fast_platform.predictor.url) as client:
        response = await client.post(
            "/predict", content=body, headers={"content-type": "application/json"}
        )

    assert response.status_code == 422


async def test_a_full_queue_answers_429_with_retry_after(
    gated_platform: PredictorWithBackend,
) -> None:
    platform = gated_platform
    platform.control("pause")
    try:
        holder = asyncio.create_task(post(platform, {"h": agent([1.0], "q", "full")}))
        await wait_until(lambda: _calls(platform, "q/full", 1))
        waiting = asyncio.create_task(
            post(platform, {"w1": agent([2.0], "q", "full"), "w2": agent([3.0], "q", "full")})
        )
        await wait_until(lambda: _queued(platform, "q", "full", 2))

        refused = await post(platform, {"r": agent([4.0], "q", "full")})

        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["reason"] == "key_queue_full"
    finally:
        platform.control("resume")
    assert (await holder).status_code == 200
    assert (await waiting).json()["results"]["w2"]["output"] == 3.0


async def test_a_client_that_disconnects_leaves_no_stranded_work(
    gated_platform: PredictorWithBackend,
) -> None:
    platform = gated_platform
    platform.control("pause")
    try:
        holder = asyncio.create_task(post(platform, {"h": agent([1.0], "d", "gone")}))
        await wait_until(lambda: _calls(platform, "d/gone", 1))
        leaver = asyncio.create_task(post(platform, {"l": agent([777.0], "d", "gone")}))
        await wait_until(lambda: _queued(platform, "d", "gone", 1))

        leaver.cancel()  # closes the connection mid-request
        with contextlib.suppress(asyncio.CancelledError):
            await leaver

        await wait_until(lambda: _queued(platform, "d", "gone", 0))
        await wait_until(lambda: _dropped(platform, "d", "gone", "cancelled", 1))
    finally:
        platform.control("resume")
    assert (await holder).status_code == 200
    after = await post(platform, {"n": agent([2.0], "d", "gone")})
    assert after.json()["results"]["n"]["output"] == 2.0
    stats = await platform.backend_stats()
    assert stats["rows_by_key"]["d/gone"] == 2  # the holder and the later agent, never 777


async def test_agents_still_queued_at_their_deadline_get_a_504(
    gated_platform: PredictorWithBackend,
) -> None:
    platform = gated_platform
    platform.control("pause")
    try:
        holder = asyncio.create_task(post(platform, {"h": agent([1.0], "e", "late")}))
        await wait_until(lambda: _calls(platform, "e/late", 1))

        late = await post(
            platform, {"x": agent([5.0], "e", "late")}, **{"X-Request-Deadline-Ms": "200"}
        )

        assert late.status_code == 504
        assert late.json()["results"]["x"]["error"]["code"] == "deadline_exceeded"
        await wait_until(lambda: _queued(platform, "e", "late", 0))
    finally:
        platform.control("resume")
    assert (await holder).status_code == 200
    assert (await platform.backend_stats())["rows_by_key"]["e/late"] == 1


async def _calls(platform: PredictorWithBackend, key: str, count: int) -> bool:
    return (await platform.backend_stats())["calls_by_key"].get(key, 0) >= count


async def _queued(platform: PredictorWithBackend, model: str, agent_type: str, count: int) -> bool:
    value = await platform.metric("predictor_queue_length", model=model, agent_type=agent_type)
    return value == count


async def _dropped(
    platform: PredictorWithBackend, model: str, agent_type: str, reason: str, n: int
) -> bool:
    value = await platform.metric(
        "predictor_dropped_total", model=model, agent_type=agent_type, reason=reason
    )
    return value >= n


OVERFLOWING = [1e308, 1e308]  # finite elements whose sum is not


async def test_an_agent_whose_output_overflows_fails_alone_and_spares_its_batch(
    fast_platform: PredictorWithBackend,
) -> None:
    response = await post(
        fast_platform,
        {
            "poison": agent(OVERFLOWING, "overflow", "t"),
            "good": agent([1.0, 2.0], "overflow", "t"),  # same key and length: same batch
        },
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert results["good"]["output"] == 3.0
    assert results["poison"]["error"]["code"] == "bad_input"


async def test_a_request_whose_only_agent_overflows_is_a_422_problem(
    fast_platform: PredictorWithBackend,
) -> None:
    response = await post(fast_platform, {"x": agent(OVERFLOWING, "overflow", "t")})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["results"]["x"]["error"]["code"] == "bad_input"


async def test_repeated_poisoned_requests_leave_the_models_breaker_closed(
    fast_platform: PredictorWithBackend,
) -> None:
    poisoned = 25  # above the backend breaker's 20-call minimum
    statuses = [
        (await post(fast_platform, {"x": agent(OVERFLOWING, "tripwire", "t")})).status_code
        for _ in range(poisoned)
    ]

    healthy = await post(fast_platform, {"y": agent([1.0, 2.0], "tripwire", "t")})

    assert statuses == [422] * poisoned
    assert healthy.status_code == 200
    assert healthy.json()["results"]["y"]["output"] == 3.0


async def test_the_backend_names_the_rows_it_rejects_with_a_422(
    fast_platform: PredictorWithBackend,
) -> None:
    async with httpx.AsyncClient(base_url=fast_platform.backend.url) as client:
        response = await client.post(
            "/v1/models/m/infer",
            json={"agent_type": "t", "inputs": [[1.0, 2.0], OVERFLOWING, [-1e308, -1e308]]},
        )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["rows"] == [1, 2]
