"""`VerifyIdentity` inside a `create_app` service served by real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from identity import IDENTITY_HEADER, Identity
from identity.client import SignedCaller
from tools.procs import ServerProcess, free_port, uvicorn_command

CURRENT, PREVIOUS = "current-identity-secret-0123456789", "previous-identity-secret-0123456789"
ALICE = Identity("alice", "api-key")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PLATFORM_IDENTITY_SECRET": CURRENT, "PLATFORM_IDENTITY_SECRET_PREVIOUS": PREVIOUS}
    command = uvicorn_command("tests.libs.identity.guarded_app:make_app", port)
    process = ServerProcess("guarded", command, env=env, ready_url=f"{base}/livez")
    process.start().wait_ready()
    try:
        yield base
    finally:
        process.stop()


def signed(secret: str = CURRENT) -> SignedCaller:
    return SignedCaller(secret.encode(), ALICE)


def test_the_route_sees_the_verified_caller_and_the_whole_body(url: str) -> None:
    response = httpx.post(f"{url}/echo", content=b"hello", auth=signed())

    assert response.json() == {"subject": "alice", "body": "hello"}


def test_the_previous_secret_is_accepted_while_rotating(url: str) -> None:
    assert httpx.post(f"{url}/echo", content=b"x", auth=signed(PREVIOUS)).status_code == 200
    assert httpx.post(f"{url}/echo", content=b"x", auth=signed("other-secret")).status_code == 401


@pytest.mark.parametrize("odd", ["a%3Fb", "a%23b", "a%5Cb", "a%09b", "a%0Db", "caf%C3%A9"])
def test_an_id_with_reserved_characters_verifies_on_the_raw_path(url: str, odd: str) -> None:
    response = httpx.get(f"{url}/items/{odd}", auth=signed())

    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "alice"


def test_a_header_is_accepted_once(url: str) -> None:
    request = httpx.Request("POST", f"{url}/echo", content=b"once")
    with httpx.Client() as client:
        first = client.send(request, auth=signed())
        again = client.send(
            httpx.Request(
                "POST", f"{url}/echo", content=b"once",
                headers={IDENTITY_HEADER: first.request.headers[IDENTITY_HEADER]},
            )
        )  # fmt: skip

    assert first.status_code == 200
    assert again.status_code == 401
    assert again.headers["content-type"] == "application/problem+json"
    assert again.headers["www-authenticate"] == "Platform"


def test_a_signed_body_over_the_services_limit_is_413_not_500(url: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"x" * 50
        yield b"y" * 50

    whole = httpx.Request("POST", f"{url}/echo", content=b"x" * 50 + b"y" * 50)
    header = next(signed().auth_flow(whole)).headers[IDENTITY_HEADER]
    streamed = httpx.Request(
        "POST", f"{url}/echo", content=chunks(), headers={IDENTITY_HEADER: header}
    )

    with httpx.Client() as client:
        response = client.send(streamed)

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("probe", ["/livez", "/readyz", "/metrics", "/openapi.json"])
def test_probes_need_no_identity(url: str, probe: str) -> None:
    assert httpx.get(f"{url}{probe}").status_code == 200


def test_an_unknown_path_needs_an_identity_too(url: str) -> None:
    assert httpx.get(f"{url}/no-such-route").status_code == 401
