"""Caching: warm calls skip DynamoDB (counted by the server), stale-if-error, 503."""

from __future__ import annotations

import json
from typing import Any

from tests.fixtures.catalog import (
    RecordingMoto,
    create_seeded_table,
    event_v2,
    make_catalog,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_cache_hits_do_not_call_dynamodb(private_moto: RecordingMoto) -> None:
    table_name = create_seeded_table(private_moto.url)
    catalog = make_catalog(private_moto.url, table_name)
    private_moto.start_recording()

    states = [catalog(event_v2(path))["headers"]["x-cache"] for path in ["/llms"] * 5]
    catalog(event_v2("/llms/GPT-4"))
    catalog(event_v2("/llms", query={"provider": "Meta"}))

    assert states == ["MISS", "HIT", "HIT", "HIT", "HIT"]
    assert private_moto.operations(table_name) == ["Scan"]


def test_expired_cache_reads_dynamodb_again(private_moto: RecordingMoto) -> None:
    table_name = create_seeded_table(private_moto.url)
    clock = Clock()
    catalog = make_catalog(private_moto.url, table_name, clock=clock, cache_ttl_s=60)
    private_moto.start_recording()
    catalog(event_v2("/llms"))

    clock.now += 61
    response = catalog(event_v2("/llms"))

    assert response["headers"]["x-cache"] == "MISS"
    assert private_moto.operations(table_name) == ["Scan", "Scan"]


def test_dynamodb_down_serves_the_last_good_copy_flagged_stale(
    private_moto: RecordingMoto,
) -> None:
    table_name = create_seeded_table(private_moto.url)
    clock = Clock()
    catalog = make_catalog(private_moto.url, table_name, clock=clock, cache_ttl_s=60)
    fresh = catalog(event_v2("/llms"))
    private_moto.process.stop()
    clock.now += 61

    response = catalog(event_v2("/llms"))

    assert response["statusCode"] == 200
    assert response["headers"]["x-cache"] == "STALE"
    assert "110" in response["headers"]["warning"]
    assert response["body"] == fresh["body"]
    assert json.loads(catalog(event_v2("/llms/GPT-4"))["body"])["score"] == 95.5


def test_dynamodb_down_without_a_copy_is_a_503_problem(private_moto: RecordingMoto) -> None:
    table_name = create_seeded_table(private_moto.url)
    catalog = make_catalog(private_moto.url, table_name)
    private_moto.process.stop()

    response = catalog(event_v2("/llms"))

    assert response["statusCode"] == 503
    assert response["headers"]["content-type"] == "application/problem+json"
    assert response["headers"]["retry-after"] == "5"
    assert json.loads(response["body"])["status"] == 503


def test_stale_copy_expires_after_stale_max(private_moto: RecordingMoto) -> None:
    table_name = create_seeded_table(private_moto.url)
    clock = Clock()
    catalog = make_catalog(
        private_moto.url, table_name, clock=clock, cache_ttl_s=60, stale_max_s=300
    )
    catalog(event_v2("/llms"))
    private_moto.process.stop()

    clock.now += 361

    assert catalog(event_v2("/llms"))["statusCode"] == 503


def test_after_a_failure_dynamodb_is_not_retried_within_the_backoff(
    private_moto: RecordingMoto, moto_endpoint: Any
) -> None:
    table_name = create_seeded_table(private_moto.url)
    clock = Clock()
    catalog = make_catalog(
        private_moto.url, table_name, clock=clock, cache_ttl_s=60, error_backoff_s=5
    )
    catalog(event_v2("/llms"))
    private_moto.process.stop()
    clock.now += 61
    catalog(event_v2("/llms"))  # fails, serves stale, starts the backoff
    loads = catalog.cache.loads

    for _ in range(10):
        catalog(event_v2("/llms"))
    during_backoff = catalog.cache.loads
    clock.now += 5
    catalog(event_v2("/llms"))

    assert during_backoff == loads
    assert catalog.cache.loads == loads + 1
