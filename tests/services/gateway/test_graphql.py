"""GraphQL contract of the gateway: the original schema, error codes, request ids."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from gateway.schema import schema
from tests.fixtures.gateway import Service, api_key, issue_key

SNAPSHOT = Path(__file__).with_name("schema.graphql")


def graphql(gateway: Service, query: str, **variables: object) -> dict:
    response = httpx.post(
        f"{gateway.url}/graphql", json={"query": query, "variables": variables}, timeout=10
    )
    return response.json()


def test_schema_is_backward_compatible_with_the_snapshot() -> None:
    assert str(schema).strip() == SNAPSHOT.read_text().strip()


def test_hello_answers_hello_world(calm_platform: tuple[Service, Service]) -> None:
    gateway, _ = calm_platform

    assert graphql(gateway, "{ hello }") == {"data": {"hello": "Hello World"}}


def test_invoke_returns_the_remote_base64_output(calm_platform: tuple[Service, Service]) -> None:
    gateway, _ = calm_platform

    body = graphql(
        gateway, "query($v: String!) { invoke(input: $v) { latencyMs output cached } }", v="héllo"
    )

    result = body["data"]["invoke"]
    assert base64.b64decode(result["output"]).decode() == "héllo"
    assert isinstance(result["latencyMs"], int)
    assert result["cached"] is False


def test_input_over_the_size_limit_is_bad_input(calm_platform: tuple[Service, Service]) -> None:
    gateway, remote = calm_platform
    before = httpx.get(f"{remote.url}/_stats").json()["invocations"]

    body = graphql(gateway, "query($v: String!) { invoke(input: $v) { output } }", v="x" * 10_001)

    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert error["extensions"]["requestId"]
    assert httpx.get(f"{remote.url}/_stats").json()["invocations"] == before


def test_wrong_argument_type_is_bad_input(calm_platform: tuple[Service, Service]) -> None:
    gateway, _ = calm_platform

    body = graphql(gateway, "{ invoke(input: 123) { output } }")

    assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT"


def test_unknown_service_route_is_503_problem_naming_it(
    calm_platform: tuple[Service, Service], keys_db: Path
) -> None:
    gateway, _ = calm_platform
    key = issue_key(keys_db, "tester")

    response = httpx.post(f"{gateway.url}/api/kv", json={"key": "k"}, headers=api_key(key))

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["upstream"] == "dumbkv"


def test_slo_reports_error_budget_from_counters(calm_platform: tuple[Service, Service]) -> None:
    gateway, _ = calm_platform
    graphql(gateway, "{ hello }")

    slos = {s["name"]: s for s in httpx.get(f"{gateway.url}/slo").json()["slos"]}

    assert set(slos) == {"availability", "invoke-latency", "invoke-availability"}
    assert slos["availability"]["total"] >= 1
    assert slos["availability"]["error_budget_remaining"] <= 1.0
