"""Avatar size limit enforced while streaming, local AWS outage and recovery, fuzzing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.fuzz import run_schemathesis
from tests.fixtures.polling import wait_until_sync
from tests.fixtures.users import PNG, UsersService, start_users
from tools import localaws
from tools.procs import free_port

MIB = 1024 * 1024


def _peak_rss_bytes(pid: int) -> int:
    """VmHWM: the process's resident-set high-water mark since it started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def _six_mib_png() -> bytes:
    return PNG + b"\0" * (6 * MIB - len(PNG))


def test_six_mib_upload_is_413_without_buffering_it(users: UsersService) -> None:
    user_id = httpx.post(
        f"{users.url}/user", json={"name": "A", "email": f"{uuid.uuid4().hex}@example.com"}
    ).json()["id"]
    peak_before = _peak_rss_bytes(users.process.pid)

    declared = httpx.put(
        f"{users.url}/users/{user_id}/avatar",
        files={"file": ("big.png", _six_mib_png(), "image/png")},
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold mid-stream
        boundary = b"--b0undary\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n'
        yield b"Content-Type: image/png\r\n\r\n" + PNG
        for _ in range(6 * 16):
            yield b"\0" * (64 * 1024)
        yield b"\r\n--b0undary--\r\n"

    streamed = httpx.put(
        f"{users.url}/users/{user_id}/avatar",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=b0undary"},
    )

    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")
    growth = _peak_rss_bytes(users.process.pid) - peak_before
    assert growth < 2 * MIB, f"peak RSS grew by {growth} bytes for 2 x 6 MiB uploads"
    assert users.avatar_keys(user_id) == []


def test_exactly_five_mib_is_accepted(users: UsersService) -> None:
    user_id = httpx.post(
        f"{users.url}/user", json={"name": "A", "email": f"{uuid.uuid4().hex}@example.com"}
    ).json()["id"]
    five = PNG + b"\0" * (5 * MIB - len(PNG))
    just_over = five + b"\0"

    accepted = httpx.put(
        f"{users.url}/users/{user_id}/avatar", files={"file": ("a.png", five, "image/png")}
    )
    refused = httpx.put(
        f"{users.url}/users/{user_id}/avatar", files={"file": ("a.png", just_over, "image/png")}
    )

    assert accepted.status_code == 201
    assert refused.status_code == 413


@pytest.fixture
def private_aws() -> Iterator[tuple[localaws.ServerProcess, dict[str, str]]]:
    process = localaws.start_moto(free_port())
    try:
        yield process, localaws.client_env(localaws.endpoint_url(process))
    finally:
        process.stop()


def test_json_nested_deeper_than_the_parser_can_go_is_a_400_problem(users: UsersService) -> None:
    nested = b"[" * 50_000 + b"]" * 50_000  # beyond CPython's recursion limit

    response = httpx.post(
        f"{users.url}/user", content=nested, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_local_aws_outage_is_503_and_not_ready_then_recovers(
    private_aws: tuple[localaws.ServerProcess, dict[str, str]],
) -> None:
    moto, env = private_aws
    users = start_users(env)
    try:
        assert httpx.get(f"{users.url}/readyz").status_code == 200
        moto.stop()

        listing = httpx.get(f"{users.url}/users", timeout=30)
        ready = httpx.get(f"{users.url}/readyz", timeout=30)

        assert listing.status_code == 503
        assert listing.headers["content-type"].startswith("application/problem+json")
        assert listing.headers["retry-after"]
        assert ready.status_code == 503
        assert "dynamodb" in ready.text

        moto.start().wait_ready()  # same port; moto starts empty
        users.recreate_resources()

        # The breaker may stay open for its `open_for` after the outage: wait for it to close.
        wait_until_sync(
            lambda: httpx.get(f"{users.url}/users", timeout=30).status_code == 200,
            within=30,
            interval=0.2,
        )
        recovered = httpx.get(f"{users.url}/users", timeout=30)
        assert recovered.status_code == 200
        assert recovered.json() == []
        assert httpx.get(f"{users.url}/readyz").status_code == 200
    finally:
        users.process.stop()


def test_schemathesis_finds_no_server_error(users: UsersService) -> None:
    run_schemathesis(users.url, max_examples=40)
