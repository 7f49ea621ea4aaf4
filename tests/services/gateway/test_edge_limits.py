"""Edge limits of the real gateway process: request heads, GraphQL bodies, slow clients."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fixtures.gateway import Service, start_gateway

# Short enough that a test waits for them, bounded by the socket timeout below.
HEAD_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0
WAIT_S = 10.0  # never reached when the limits work
GRAPHQL_MAX_BODY = 16 * 1024
ALIVE = b'{"status":"alive"}'


@pytest.fixture(scope="module")
def gateway() -> Iterator[Service]:
    service = start_gateway(
        [],
        GATEWAY_READY_REQUIRES_REMOTE="false",
        GATEWAY_HEAD_TIMEOUT_S=str(HEAD_TIMEOUT_S),
        GATEWAY_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S),
        GATEWAY_GRAPHQL_MAX_BODY_BYTES=str(GRAPHQL_MAX_BODY),
    )
    try:
        yield service
    finally:
        service.stop()


def connect(gateway: Service) -> socket.socket:
    where = urlsplit(gateway.url)
    sock = socket.create_connection((where.hostname, where.port), timeout=WAIT_S)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes the connection (bounded by WAIT_S)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_request_head_over_the_limit_is_refused(gateway: Service) -> None:
    response = httpx.get(f"{gateway.url}/livez", headers={"X-Big": "a" * 100_000})

    assert response.status_code == 400


def test_a_client_still_sending_its_oversized_head_reads_the_400_not_a_reset(
    gateway: Service,
) -> None:
    # The server refuses after 32 KiB while this client keeps sending: without a
    # lingering close the kernel resets the connection under the unread input.
    head = b"GET /livez HTTP/1.1\r\nHost: gateway\r\nX-Big: " + b"a" * 1_000_000
    with connect(gateway) as sock:
        sock.sendall(head)

        answer = read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 400 ")


def test_a_connection_that_never_finishes_its_head_is_closed(gateway: Service) -> None:
    with connect(gateway) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")

        assert read_until_closed(sock) == b""


def test_a_keep_alive_connection_that_trickles_its_next_head_is_closed(gateway: Service) -> None:
    with connect(gateway) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: gateway\r\n\r\n")
        first = b""
        while not first.endswith(ALIVE):  # the whole first answer, head and body
            first += sock.recv(65536)
        sock.sendall(b"GET /livez HTTP/1.1\r\n")  # cancels uvicorn's keep-alive timer

        rest = read_until_closed(sock)

    assert first.startswith(b"HTTP/1.1 200")
    assert rest == b""


def test_a_body_that_does_not_arrive_in_time_is_408(gateway: Service) -> None:
    with connect(gateway) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"query": '
        )

        answer = read_until_closed(sock)

    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 408")
    assert b"content-type: application/problem+json" in head


def test_a_graphql_body_over_its_limit_is_413_problem(gateway: Service) -> None:
    padding = "#" * GRAPHQL_MAX_BODY  # a comment: valid GraphQL, just too big

    response = httpx.post(f"{gateway.url}/graphql", json={"query": "{ hello }\n" + padding})

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_a_chunked_graphql_body_over_its_limit_is_413_problem(gateway: Service) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ hello }", "x": "'
        for _ in range(GRAPHQL_MAX_BODY // 1024 + 1):
            yield b"a" * 1024
        yield b'"}'

    response = httpx.post(
        f"{gateway.url}/graphql", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("PUT", "/graphql", {"GET", "POST"}), ("GET", "/api/kv", {"POST", "PUT", "DELETE"})],
)
def test_method_not_allowed_lists_every_method_of_the_path(
    gateway: Service, method: str, path: str, allowed: set[str]
) -> None:
    response = httpx.request(method, f"{gateway.url}{path}")

    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
