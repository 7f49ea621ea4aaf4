"""Redirects through the edge never expose a service's internal address."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.gateway import Service, start_gateway
from tests.fixtures.moto import MotoEndpoint
from tests.fixtures.users import UsersService, start_users


@pytest.fixture(scope="module")
def users_behind_gateway(moto_endpoint: MotoEndpoint) -> Iterator[tuple[Service, UsersService]]:
    users = start_users(moto_endpoint.env())
    gateway = start_gateway([], GATEWAY_READY_REQUIRES_REMOTE="false", GATEWAY_USERS_URL=users.url)
    try:
        yield gateway, users
    finally:
        gateway.stop()
        users.process.stop()


def test_a_trailing_slash_redirect_points_at_the_edge_path(
    users_behind_gateway: tuple[Service, UsersService],
) -> None:
    gateway, users = users_behind_gateway

    response = httpx.get(f"{gateway.url}/api/users/")

    assert response.status_code == 307
    assert response.headers["location"] == "/api/users"
    assert users.url.split("//")[1] not in response.text


def test_following_the_redirect_lists_the_users(
    users_behind_gateway: tuple[Service, UsersService],
) -> None:
    gateway, _ = users_behind_gateway

    response = httpx.get(f"{gateway.url}/api/users/", follow_redirects=True)

    assert response.status_code == 200
    assert isinstance(response.json(), list)
