"""With PLATFORM_IDENTITY_SECRET set, users trusts only the gateway's signed identity,
and a caller may change only the users it created (admins: any)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from identity import IDENTITY_HEADER, Identity, sign
from tests.fixtures.moto import MotoEndpoint
from tests.fixtures.users import PNG, UsersService, start_users

SECRET = "users-test-identity-secret-0123456789"
ALICE = Identity("alice", "api-key")
BOB = Identity("bob", "jwt")
ADMIN = Identity("ops", "api-key", frozenset({"admin"}))
ANONYMOUS = Identity("anonymous")


@pytest.fixture(scope="module")
def guarded(moto_endpoint: MotoEndpoint) -> Iterator[UsersService]:
    service = start_users(moto_endpoint.env(), PLATFORM_IDENTITY_SECRET=SECRET)
    try:
        yield service
    finally:
        service.process.stop()


def call(
    users: UsersService,
    method: str,
    path: str,
    who: Identity | None,
    *,
    secret: str = SECRET,
    signed_at: float | None = None,
    **kwargs: object,
) -> httpx.Response:
    request = httpx.Request(method, f"{users.url}{path}", **kwargs)  # type: ignore[arg-type]
    if who is not None:  # signed over what goes on the wire, as the gateway signs
        request.headers[IDENTITY_HEADER] = sign(
            secret.encode(),
            method,
            request.url.raw_path.partition(b"?")[0],
            who,
            query=request.url.query,
            body=request.read(),
            now=signed_at,
        )
    with httpx.Client() as client:
        return client.send(request)


def _new_user(users: UsersService, who: Identity) -> dict:
    body = {"name": who.subject, "email": f"{uuid.uuid4().hex[:10]}@example.com"}
    created = call(users, "POST", "/user", who, json=body)
    assert created.status_code == 201, created.text
    return created.json()


@pytest.mark.parametrize(
    ("who", "secret", "age"),
    [(None, SECRET, 0), (ALICE, "not-the-gateway-secret", 0), (ALICE, SECRET, 120)],
    ids=["unsigned", "forged", "stale"],
)
def test_unsigned_forged_or_stale_identity_is_401(
    guarded: UsersService, who: Identity | None, secret: str, age: float
) -> None:
    response = call(guarded, "GET", "/users", who, secret=secret, signed_at=time.time() - age)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_probes_need_no_identity(guarded: UsersService) -> None:
    assert httpx.get(f"{guarded.url}/readyz").status_code == 200


def test_anonymous_callers_may_read_but_not_create(guarded: UsersService) -> None:
    assert call(guarded, "GET", "/users", ANONYMOUS).status_code == 200
    body = {"name": "x", "email": f"{uuid.uuid4().hex[:10]}@example.com"}
    assert call(guarded, "POST", "/user", ANONYMOUS, json=body).status_code == 401


def test_only_the_owner_or_an_admin_changes_an_avatar(guarded: UsersService) -> None:
    user = _new_user(guarded, ALICE)
    path = f"/users/{user['id']}/avatar"

    def upload(who: Identity) -> int:
        return call(
            guarded, "PUT", path, who, files={"file": ("a.png", PNG, "image/png")}
        ).status_code

    assert upload(BOB) == 403
    assert guarded.avatar_keys(user["id"]) == [], "a refused upload stores nothing"
    assert upload(ALICE) == 201
    assert upload(ADMIN) == 201


def test_only_the_owner_or_an_admin_deletes(guarded: UsersService) -> None:
    user = _new_user(guarded, ALICE)

    assert call(guarded, "DELETE", f"/users/{user['id']}", BOB).status_code == 403
    assert call(guarded, "DELETE", f"/users/{user['id']}", ADMIN).status_code == 204
