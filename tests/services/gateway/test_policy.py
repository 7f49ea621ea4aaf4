"""Which routes need which caller, per GATEWAY_AUTH_MODE."""

from __future__ import annotations

import pytest

from gateway.auth.policy import (
    Access,
    Forbidden,
    Unauthenticated,
    authorize,
    required_access,
)
from identity import Identity

ALICE = Identity("alice", "api-key", frozenset(), "k1")
ROOT = Identity("root", "jwt", frozenset({"admin"}))
NOBODY = Identity("anonymous")


@pytest.mark.parametrize(
    ("mode", "method", "path", "expected"),
    [
        ("writes", "GET", "/api/users", Access.OPEN),
        ("writes", "HEAD", "/api/llms", Access.OPEN),
        ("writes", "POST", "/graphql", Access.OPEN),
        ("writes", "PUT", "/api/kv", Access.AUTHENTICATED),
        ("writes", "POST", "/api/kv", Access.AUTHENTICATED),
        ("writes", "DELETE", "/api/users/1", Access.AUTHENTICATED),
        ("writes", "POST", "/api/predict", Access.AUTHENTICATED),
        ("all", "GET", "/api/llms", Access.AUTHENTICATED),
        ("all", "POST", "/graphql", Access.AUTHENTICATED),
        ("off", "PUT", "/api/kv", Access.OPEN),
        ("off", "GET", "/_admin/keys", Access.ADMIN),
        ("writes", "GET", "/_admin/keys", Access.ADMIN),
    ],
)
def test_required_access(mode: str, method: str, path: str, expected: Access) -> None:
    assert required_access(mode, method, path) is expected  # type: ignore[arg-type]


def test_open_route_admits_anyone() -> None:
    authorize(Access.OPEN, NOBODY)


def test_authenticated_route_refuses_anonymous_as_unauthenticated() -> None:
    with pytest.raises(Unauthenticated):
        authorize(Access.AUTHENTICATED, NOBODY)


def test_admin_route_refuses_a_known_non_admin_as_forbidden() -> None:
    with pytest.raises(Forbidden):
        authorize(Access.ADMIN, ALICE)


def test_admin_route_admits_an_admin() -> None:
    authorize(Access.ADMIN, ROOT)
