"""`SignedCaller` signs what goes on the wire, afresh for every attempt."""

from __future__ import annotations

import httpx

from identity import IDENTITY_HEADER, Identity, verify
from identity.client import SignedCaller
from resilience import Policy, ResilientClient, Retry

SECRET = b"c" * 32
ALICE = Identity("alice", "api-key")


async def test_each_retry_carries_its_own_signature() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) == 1 else 200, json={})

    policy = Policy(retry=Retry(attempts=2), hedge=None)
    async with ResilientClient(
        "svc", ["http://svc.test"], policy=policy, transport=httpx.MockTransport(answer)
    ) as client:
        response = await client.get(
            "/users/a%3Fb", params=[("tag", "x y")], auth=SignedCaller(SECRET, ALICE)
        )

    assert response.status_code == 200
    headers = [request.headers[IDENTITY_HEADER] for request in seen]
    assert len(headers) == 2
    assert headers[0].split(".")[2] != headers[1].split(".")[2], "a fresh nonce per attempt"
    for request, header in zip(seen, headers, strict=True):
        path, _, query = request.url.raw_path.partition(b"?")
        assert path == b"/users/a%3Fb"
        assert verify(SECRET, "GET", path, header, query=query) == ALICE


def test_the_body_and_query_sent_are_the_ones_signed() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        client.put(
            "http://svc.test/kv?overwrite=true",
            json={"key": "k", "value": "v"},
            auth=SignedCaller(SECRET, ALICE),
        )

    (request,) = seen
    header = request.headers[IDENTITY_HEADER]
    assert verify(SECRET, "PUT", "/kv", header, query=b"overwrite=true", body=request.content)
