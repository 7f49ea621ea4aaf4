"""Security headers on every response, HSTS only behind TLS, and the CORS allow-list."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.gateway import SecuredPlatform


@pytest.mark.parametrize("path", ["/livez", "/graphql?query={hello}", "/api/kv", "/nowhere"])
def test_every_response_carries_the_security_headers(secured: SecuredPlatform, path: str) -> None:
    response = httpx.get(f"{secured.gateway.url}{path}")

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "server" not in response.headers


def test_hsts_is_sent_only_when_the_request_came_over_tls(secured: SecuredPlatform) -> None:
    plain = httpx.get(f"{secured.gateway.url}/livez")
    tls = httpx.get(f"{secured.gateway.url}/livez", headers={"X-Forwarded-Proto": "https"})

    assert "strict-transport-security" not in plain.headers
    assert tls.headers["strict-transport-security"].startswith("max-age=")


def test_allowed_origin_gets_a_cors_preflight_answer(secured: SecuredPlatform) -> None:
    response = httpx.options(
        f"{secured.gateway.url}/api/kv",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example"


def test_other_origins_get_no_cors_grant(secured: SecuredPlatform) -> None:
    response = httpx.get(
        f"{secured.gateway.url}/api/llms", headers={"Origin": "https://evil.example"}
    )

    assert "access-control-allow-origin" not in response.headers
