"""A bad GraphQL request is the client's error: a 400 problem or BAD_INPUT, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.gateway import Service, invocations

INVOKE = "query($v: String!) { invoke(input: $v) { output } }"
# Deeper than CPython's recursion limit lets `json.loads` parse.
DEEP = b"[" * 50_000 + b"]" * 50_000


def post(gateway: Service, body: bytes) -> httpx.Response:
    headers = {"content-type": "application/json"}
    return httpx.post(f"{gateway.url}/graphql", content=body, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        b'{"query": "{ hello }", "variables": {"v": ' + DEEP + b"}}",
        b'{"query": "{ hello \xff }"}',  # not UTF-8
        b'"x"',
        b"null",
        b'{"variables": {}}',  # no query
        b'{"query": "{ hello }", "variables": 3}',
    ],
    ids=["nested", "nested-variables", "invalid-utf8", "bare-string", "null", "no-query", "vars"],
)
def test_a_body_that_is_no_graphql_request_is_a_400_problem(
    calm_platform: tuple[Service, Service], body: bytes
) -> None:
    gateway, _ = calm_platform

    response = post(gateway, body)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 400


def test_a_variable_of_the_wrong_type_is_bad_input(calm_platform: tuple[Service, Service]) -> None:
    gateway, _ = calm_platform

    response = httpx.post(
        f"{gateway.url}/graphql", json={"query": INVOKE, "variables": {"v": 1}}, timeout=10
    )

    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_INPUT"]


def test_a_lone_surrogate_is_bad_input_and_never_reaches_the_remote(
    calm_platform: tuple[Service, Service],
) -> None:
    gateway, remote = calm_platform
    before = invocations(remote)
    body = b'{"query": "' + INVOKE.encode() + b'", "variables": {"v": "\\ud800"}}'

    response = post(gateway, body)

    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_INPUT"]
    assert invocations(remote) == before
