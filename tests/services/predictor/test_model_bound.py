"""Model names come from clients: what the predictor keeps per model (a backend client,
metric series) must stay bounded by `max_keys`, whatever names are sent over time."""

from __future__ import annotations

import asyncio
import json

import httpx
from prometheus_client import REGISTRY

from predictor.backend_client import BackendClient
from predictor.batcher import BatchKey, KeyedBatcher, KeyLimits
from tests.fixtures.polling import wait_until

MAX_KEYS = 4
WAVES = 5  # 20 distinct models over time, 5x the bound


def _row_sums(request: httpx.Request) -> httpx.Response:
    inputs = json.loads(request.content)["inputs"]
    return httpx.Response(200, json={"outputs": [sum(row) for row in inputs]})


def _series_models(prefix: str) -> set[str]:
    """Models named by any predictor_* series in the default registry (as /metrics)."""
    return {
        sample.labels["model"]
        for family in REGISTRY.collect()
        if family.name.startswith("predictor_")
        for sample in family.samples
        if sample.labels.get("model", "").startswith(prefix)
    }


def _upstream_models(prefix: str) -> set[str]:
    """Models named by any resilience_* series (one upstream per model's client)."""
    return {
        sample.labels["upstream"].removeprefix("backend:")
        for family in REGISTRY.collect()
        if family.name.startswith("resilience_")
        for sample in family.samples
        if sample.labels.get("upstream", "").startswith(f"backend:{prefix}")
    }


async def test_clients_and_series_stay_bounded_under_ever_new_model_names() -> None:
    backend = BackendClient(["http://backend"], transport=httpx.MockTransport(_row_sums))
    batcher = KeyedBatcher(
        backend.infer,
        defaults=KeyLimits(max_wait_ms=0),
        max_keys=MAX_KEYS,
        idle_s=0.01,
        on_model_idle=backend.release,
    )
    most_clients = most_series = 0
    try:
        for wave in range(WAVES):
            keys = [BatchKey(f"bound-{wave}-{n}", "t") for n in range(MAX_KEYS)]

            outputs = await asyncio.gather(*batcher.submit([(key, [1.0, 2.0]) for key in keys]))

            assert outputs == [3.0] * MAX_KEYS
            most_clients = max(most_clients, len(backend.models))
            most_series = max(
                most_series, len(_series_models("bound-")), len(_upstream_models("bound-"))
            )
            await wait_until(lambda: not batcher.keys())
    finally:
        await batcher.aclose(drain_s=0)
        await backend.aclose()

    assert most_clients <= MAX_KEYS
    assert most_series <= MAX_KEYS
    assert backend.models == []
    assert _series_models("bound-") == set()
    assert _upstream_models("bound-") == set()
