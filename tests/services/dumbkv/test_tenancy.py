"""With PLATFORM_IDENTITY_SECRET set, dumbkv trusts only the gateway's signed identity, and
every caller's databases are its own unless DUMBKV_TENANT_DATABASES shares some."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from identity import IDENTITY_HEADER, Identity, sign
from tests.fixtures.dumbkv import start_dumbkv
from tools.procs import ServerProcess

SECRET = "dumbkv-test-identity-secret-0123456789"
ALICE = Identity("alice", "api-key")
BOB = Identity("bob", "jwt")
CAROL = Identity("carol", "api-key")
ADMIN = Identity("ops", "api-key", frozenset({"admin"}))


def _serve(db: Path, **env: str) -> tuple[str, ServerProcess]:
    return start_dumbkv({"DATABASE_TYPE": "sqlite", "DATABASE_LOCATION": str(db), **env})


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The default: no DUMBKV_TENANT_DATABASES."""
    db = tmp_path_factory.mktemp("isolated") / "dumbkvstore" / "dumbkv.db"
    url, process = _serve(db, PLATFORM_IDENTITY_SECRET=SECRET)
    try:
        yield url
    finally:
        process.stop()


@pytest.fixture(scope="module")
def sharing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Database 1 shared by alice and bob, by configuration."""
    db = tmp_path_factory.mktemp("sharing") / "dumbkvstore" / "dumbkv.db"
    shared = json.dumps({"alice": [1], "bob": [1]})
    url, process = _serve(db, PLATFORM_IDENTITY_SECRET=SECRET, DUMBKV_TENANT_DATABASES=shared)
    try:
        yield url
    finally:
        process.stop()


def kv(url: str, method: str, who: Identity | None, body: dict[str, object]) -> httpx.Response:
    """`method /kv` with `body`, signed for `who` as the gateway would (unsigned if None)."""
    content = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if who is not None:
        headers[IDENTITY_HEADER] = sign(SECRET.encode(), method, "/kv", who, body=content)
    return httpx.request(method, f"{url}/kv", content=content, headers=headers)


def test_a_tenant_reads_and_writes_its_own_database(isolated: str) -> None:
    key = uuid.uuid4().hex
    assert kv(isolated, "PUT", ALICE, {"database": 1, "key": key, "value": "a"}).status_code == 200
    assert kv(isolated, "POST", ALICE, {"database": 1, "key": key}).json() == {"value": "a"}


def test_by_default_another_tenant_neither_sees_nor_changes_the_same_key(isolated: str) -> None:
    key = uuid.uuid4().hex
    body = {"database": 0, "key": key}
    assert kv(isolated, "PUT", ALICE, {**body, "value": "secret"}).status_code == 200

    read = kv(isolated, "POST", BOB, body)
    written = kv(isolated, "PUT", BOB, {**body, "value": "bob's"})  # 409 would leak existence
    deleted = kv(isolated, "DELETE", BOB, body)

    assert read.status_code == 404
    assert read.headers["content-type"] == "application/problem+json"
    assert written.status_code == 200
    assert deleted.status_code == 200
    assert kv(isolated, "POST", BOB, body).status_code == 404
    assert kv(isolated, "POST", ALICE, body).json() == {"value": "secret"}


def test_admins_keep_the_shared_databases_which_tenants_do_not_see(isolated: str) -> None:
    key = uuid.uuid4().hex
    body = {"database": 0, "key": key}
    assert kv(isolated, "PUT", ADMIN, {**body, "value": "ops"}).status_code == 200
    assert kv(isolated, "PUT", CAROL, {**body, "value": "carol"}).status_code == 200

    assert kv(isolated, "POST", ADMIN, body).json() == {"value": "ops"}
    assert kv(isolated, "POST", CAROL, body).json() == {"value": "carol"}


def test_configured_databases_are_shared_by_the_listed_tenants_only(sharing: str) -> None:
    key = uuid.uuid4().hex
    written = kv(sharing, "PUT", ALICE, {"database": 1, "key": key, "value": "team"})
    assert written.status_code == 200

    assert kv(sharing, "POST", BOB, {"database": 1, "key": key}).json() == {"value": "team"}
    assert kv(sharing, "POST", ADMIN, {"database": 1, "key": key}).json() == {"value": "team"}
    assert kv(sharing, "POST", CAROL, {"database": 1, "key": key}).status_code == 404
    assert kv(sharing, "POST", BOB, {"database": 0, "key": key}).status_code == 404


def test_data_of_a_single_tenant_deployment_stays_readable_once_identity_is_on(
    tmp_path: Path,
) -> None:
    db = tmp_path / "dumbkvstore" / "dumbkv.db"
    key = uuid.uuid4().hex
    url, alone = _serve(db)
    try:
        assert httpx.put(f"{url}/kv", json={"key": key, "value": "old"}).status_code == 200
    finally:
        alone.stop()
    shared = json.dumps({"alice": [0]})
    url, behind = _serve(db, PLATFORM_IDENTITY_SECRET=SECRET, DUMBKV_TENANT_DATABASES=shared)
    try:
        by_admin = kv(url, "POST", ADMIN, {"key": key})
        by_alice = kv(url, "POST", ALICE, {"key": key})
        by_bob = kv(url, "POST", BOB, {"key": key})
    finally:
        behind.stop()

    assert by_admin.json() == {"value": "old"}
    assert by_alice.json() == {"value": "old"}
    assert by_bob.status_code == 404


def test_anonymous_unsigned_and_forged_callers_are_refused(isolated: str) -> None:
    body = {"database": 0, "key": "k"}
    assert kv(isolated, "POST", Identity("anonymous"), body).status_code == 401
    assert kv(isolated, "POST", None, body).status_code == 401
    content = json.dumps(body).encode()
    forged = sign(b"guessed-secret", "POST", "/kv", ADMIN, body=content)
    response = httpx.post(f"{isolated}/kv", content=content, headers={IDENTITY_HEADER: forged})
    assert response.status_code == 401
