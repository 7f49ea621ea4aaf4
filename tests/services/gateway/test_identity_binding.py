"""A signed identity is bound to the one request the gateway made: its body, its query,
its raw path, and it is accepted once. Captured from the wire (a recording upstream),
replayed at a real dumbkv sharing the gateway's secret, as an attacker on loopback would."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from identity import IDENTITY_HEADER
from tests.fixtures.dumbkv import start_dumbkv
from tests.fixtures.gateway import (
    IDENTITY_SECRET,
    Received,
    RecordingUpstream,
    Service,
    api_key,
    issue_key,
    start_gateway,
)
from tests.fixtures.moto import MotoEndpoint
from tests.fixtures.users import UsersService, start_users
from tools.procs import ServerProcess


@dataclass
class Stack:
    gateway: Service
    recorder: RecordingUpstream
    dumbkv: str
    admin_key: str


@pytest.fixture(scope="module")
def stack(
    keys_db: Path, tmp_path_factory: pytest.TempPathFactory, moto_endpoint: MotoEndpoint
) -> Iterator[Stack]:
    """The gateway's dumbkv calls go to a recorder; its users calls to a real users."""
    db = tmp_path_factory.mktemp("binding") / "dumbkv.db"
    processes: list[ServerProcess] = []
    users: UsersService | None = None
    with RecordingUpstream() as recorder:
        try:
            dumbkv_url, dumbkv = start_dumbkv(
                {"DATABASE_TYPE": "sqlite", "DATABASE_LOCATION": str(db),
                 "PLATFORM_IDENTITY_SECRET": IDENTITY_SECRET}
            )  # fmt: skip
            processes.append(dumbkv)
            users = start_users(moto_endpoint.env(), PLATFORM_IDENTITY_SECRET=IDENTITY_SECRET)
            processes.append(users.process)
            gateway = start_gateway(
                [],
                GATEWAY_READY_REQUIRES_REMOTE="false",
                GATEWAY_KEYS_DB=str(keys_db),
                GATEWAY_DUMBKV_URL=recorder.url,
                GATEWAY_USERS_URL=users.url,
                PLATFORM_IDENTITY_SECRET=IDENTITY_SECRET,
            )
            processes.append(gateway.process)
            yield Stack(gateway, recorder, dumbkv_url, issue_key(keys_db, "ops", admin=True))
        finally:
            for process in reversed(processes):
                process.stop()


def captured_write(stack: Stack, body: dict[str, object]) -> Received:
    """What the gateway sent upstream for an admin's `PUT /api/kv` of `body`."""
    response = httpx.put(f"{stack.gateway.url}/api/kv", json=body, headers=api_key(stack.admin_key))
    assert response.status_code == 200, response.text
    return stack.recorder.requests_to("/kv")[-1]


def replay(stack: Stack, seen: Received, body: bytes, query: str = "") -> httpx.Response:
    return httpx.put(
        f"{stack.dumbkv}/kv{'?' + query if query else ''}",
        content=body,
        headers={
            IDENTITY_HEADER: seen.headers[IDENTITY_HEADER],
            "content-type": "application/json",
        },
    )


def test_a_captured_header_is_refused_with_another_body(stack: Stack) -> None:
    key = uuid.uuid4().hex
    seen = captured_write(stack, {"key": key, "value": "mine"})

    forged = json.dumps({"database": 7, "key": key, "value": "theirs"}).encode()
    response = replay(stack, seen, forged)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_captured_header_is_refused_with_another_query(stack: Stack) -> None:
    seen = captured_write(stack, {"key": uuid.uuid4().hex, "value": "v"})

    assert replay(stack, seen, seen.body, query="overwrite=true").status_code == 401


def test_a_captured_header_is_accepted_once(stack: Stack) -> None:
    seen = captured_write(stack, {"key": uuid.uuid4().hex, "value": "v"})

    first = replay(stack, seen, seen.body)
    again = replay(stack, seen, seen.body)

    assert first.status_code == 200, first.text
    assert again.status_code == 401
    assert "replayed" in again.json()["detail"]


@pytest.mark.parametrize("odd", ["a?b", "a#b", "a\\b", "a\tb", "a\rb", "caf\u00e9 x"])
def test_ids_with_reserved_characters_reach_the_service_signed(stack: Stack, odd: str) -> None:
    url = f"{stack.gateway.url}/api/users/{quote(odd, safe='')}"

    response = httpx.get(url, headers=api_key(stack.admin_key))

    # No such user: the service verified the gateway's signature and looked the id up.
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
