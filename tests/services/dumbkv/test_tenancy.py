"""With PLATFORM_IDENTITY_SECRET set, dumbkv trusts only the gateway's signed identity and
scopes database numbers to the caller (DUMBKV_TENANT_DATABASES)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from identity import IDENTITY_HEADER, Identity, sign
from tests.services.dumbkv.conftest import start_dumbkv

SECRET = "dumbkv-test-identity-secret-0123456789"
TENANTS = {"alice": [1], "bob": [2], "*": [0]}
ALICE = Identity("alice", "api-key")
BOB = Identity("bob", "jwt")
CAROL = Identity("carol", "api-key")
ADMIN = Identity("ops", "api-key", frozenset({"admin"}))


@pytest.fixture(scope="module")
def scoped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("tenancy") / "dumbkvstore" / "dumbkv.db"
    url, process = start_dumbkv(
        {
            "DATABASE_TYPE": "sqlite",
            "DATABASE_LOCATION": str(db),
            "PLATFORM_IDENTITY_SECRET": SECRET,
            "DUMBKV_TENANT_DATABASES": json.dumps(TENANTS),
        }
    )
    try:
        yield url
    finally:
        process.stop()


def kv(url: str, method: str, who: Identity | None, body: dict, **params: str) -> httpx.Response:
    headers = {IDENTITY_HEADER: sign(SECRET.encode(), method, "/kv", who)} if who else {}
    return httpx.request(method, f"{url}/kv", json=body, headers=headers, params=params)


def test_a_tenant_reads_and_writes_its_own_database(scoped: str) -> None:
    key = uuid.uuid4().hex
    assert kv(scoped, "PUT", ALICE, {"database": 1, "key": key, "value": "a"}).status_code == 200
    assert kv(scoped, "POST", ALICE, {"database": 1, "key": key}).json() == {"value": "a"}


def test_a_tenant_cannot_touch_another_tenants_database(scoped: str) -> None:
    key = uuid.uuid4().hex
    assert (
        kv(scoped, "PUT", ALICE, {"database": 1, "key": key, "value": "secret"}).status_code == 200
    )

    for method, body in (
        ("POST", {"database": 1, "key": key}),
        ("PUT", {"database": 1, "key": key, "value": "overwritten"}),
        ("DELETE", {"database": 1, "key": key}),
    ):
        refused = kv(scoped, method, BOB, body, overwrite="true")
        assert refused.status_code == 403, (method, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert kv(scoped, "POST", ALICE, {"database": 1, "key": key}).json() == {"value": "secret"}


def test_unlisted_callers_get_the_default_databases_and_admins_any(scoped: str) -> None:
    key = uuid.uuid4().hex
    assert kv(scoped, "PUT", CAROL, {"database": 0, "key": key, "value": "c"}).status_code == 200
    assert kv(scoped, "PUT", CAROL, {"database": 1, "key": key, "value": "c"}).status_code == 403
    assert kv(scoped, "POST", ADMIN, {"database": 0, "key": key}).status_code == 200


def test_anonymous_unsigned_and_forged_callers_are_refused(scoped: str) -> None:
    body = {"database": 0, "key": "k"}
    assert kv(scoped, "POST", Identity("anonymous"), body).status_code == 401
    assert kv(scoped, "POST", None, body).status_code == 401
    forged = sign(b"guessed-secret", "POST", "/kv", ADMIN)
    response = httpx.post(f"{scoped}/kv", json=body, headers={IDENTITY_HEADER: forged})
    assert response.status_code == 401
