"""GraphQL abuse limits: refused with BAD_INPUT before anything reaches the remote."""

from __future__ import annotations

import httpx

from tests.services.gateway.conftest import Service, invocations

INVOKE = 'invoke(input: "x") { output }'


def graphql(gateway: Service, query: str) -> dict:
    return httpx.post(f"{gateway.url}/graphql", json={"query": query}, timeout=10).json()


def assert_refused_without_calling_the_remote(platform: tuple[Service, Service], query: str) -> str:
    gateway, remote = platform
    before = invocations(remote)

    body = graphql(gateway, query)

    assert body.get("data") is None
    assert {error["extensions"]["code"] for error in body["errors"]} == {"BAD_INPUT"}
    assert invocations(remote) == before
    return " ".join(error["message"] for error in body["errors"])


def test_too_deep_query_is_bad_input(calm_platform: tuple[Service, Service]) -> None:
    nested = "output " + "{ a " * 11 + "}" * 11
    query = f'{{ invoke(input: "x") {{ {nested} }} }}'

    message = assert_refused_without_calling_the_remote(calm_platform, query)

    assert "maximum operation depth" in message


def test_query_over_the_size_cap_is_bad_input(calm_platform: tuple[Service, Service]) -> None:
    query = f"{{ {INVOKE} }}" + "#" + "x" * 10 * 1024  # a comment pads it past 10 KiB

    message = assert_refused_without_calling_the_remote(calm_platform, query)

    assert "larger than 10240 bytes" in message


def test_query_with_too_many_tokens_is_bad_input(calm_platform: tuple[Service, Service]) -> None:
    query = "{ " + " ".join(f"h{i}: hello" for i in range(500)) + f" {INVOKE} }}"

    assert_refused_without_calling_the_remote(calm_platform, query)


def test_query_with_too_many_aliases_is_bad_input(calm_platform: tuple[Service, Service]) -> None:
    query = "{ " + " ".join(f'i{i}: invoke(input: "{i}") {{ output }}' for i in range(11)) + " }"

    message = assert_refused_without_calling_the_remote(calm_platform, query)

    assert "aliases" in message
