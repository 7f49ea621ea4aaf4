"""GraphQL abuse limits: refused with BAD_INPUT before anything reaches the remote."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.gateway import Service, invocations

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


async def test_a_repeated_document_is_validated_once_with_the_limits_in_force(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import strawberry.schema.schema as strawberry_schema
    from graphql.validation import validate

    from gateway.schema import QueryLimits, build_schema

    schema = build_schema(QueryLimits(max_depth=3))
    validated: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        validated.append(args[1])
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting)
    for _ in range(5):  # the same document, request after request
        assert (await schema.execute("{ hello }")).errors is None
    too_deep = await schema.execute('{ invoke(input: "x") { output { a { b { c } } } } }')

    assert len(validated) == 2  # each document once
    assert too_deep.errors  # and the depth limit still applies
