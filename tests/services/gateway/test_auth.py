"""Authentication at the edge, through a real gateway: API keys, OIDC bearer tokens, policy."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import jwt

from tests.fixtures.gateway import (
    AUDIENCE,
    SecuredPlatform,
    SigningKey,
    api_key,
    bearer,
    issue_key,
)

WRITE = ("PUT", "/api/kv")
CHALLENGE = 'Api-Key realm="platform", Bearer realm="platform"'


def call(
    platform: SecuredPlatform,
    headers: dict[str, str] | None = None,
    *,
    route: tuple[str, str] = WRITE,
) -> httpx.Response:
    method, path = route
    return httpx.request(
        method, f"{platform.gateway.url}{path}", json={"key": "k"}, headers=headers, timeout=10
    )


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


def test_write_with_a_valid_api_key_reaches_the_service(secured: SecuredPlatform) -> None:
    response = call(secured, api_key(secured.user_key))

    assert response.status_code == 200


def test_write_without_credentials_is_401_with_a_challenge(secured: SecuredPlatform) -> None:
    assert_unauthorized(call(secured))


def test_read_without_credentials_is_open_in_writes_mode(secured: SecuredPlatform) -> None:
    response = call(secured, route=("GET", "/api/llms"))

    assert response.status_code == 200


def test_graphql_query_without_credentials_is_open_in_writes_mode(
    secured: SecuredPlatform,
) -> None:
    response = httpx.post(f"{secured.gateway.url}/graphql", json={"query": "{ hello }"})

    assert response.json() == {"data": {"hello": "Hello World"}}


def test_unknown_api_key_is_401(secured: SecuredPlatform) -> None:
    assert_unauthorized(call(secured, api_key("pk_0123456789abcdef_not-the-secret")))


def test_wrong_secret_for_a_known_key_id_is_401(secured: SecuredPlatform) -> None:
    prefix, key_id, _ = secured.user_key.split("_", 2)

    assert_unauthorized(call(secured, api_key(f"{prefix}_{key_id}_guessed-secret")))


def test_bad_credentials_are_401_even_on_an_open_route(secured: SecuredPlatform) -> None:
    response = call(secured, api_key("garbage"), route=("GET", "/api/llms"))

    assert_unauthorized(response)


def test_revoked_key_is_401_at_once(secured: SecuredPlatform) -> None:
    key = issue_key(secured.keys_db, "mallory")
    assert call(secured, api_key(key)).status_code == 200
    key_id = key.split("_")[1]

    subprocess.run(
        [sys.executable, "-m", "gateway.keys", "--db", str(secured.keys_db), "revoke", key_id],
        check=True,
        capture_output=True,
    )

    response = call(secured, api_key(key))
    assert_unauthorized(response)
    assert "revoked" in response.json()["detail"]


def test_valid_bearer_token_is_accepted(secured: SecuredPlatform) -> None:
    token = secured.issuer.token(secured.signing_key)

    assert call(secured, bearer(token)).status_code == 200


def test_expired_token_is_401(secured: SecuredPlatform) -> None:
    long_ago = int(time.time()) - 3600
    token = secured.issuer.token(secured.signing_key, iat=long_ago, nbf=long_ago, exp=long_ago)

    response = call(secured, bearer(token))

    assert_unauthorized(response)
    assert response.json()["detail"] == "token expired"


def test_token_for_another_audience_is_401(secured: SecuredPlatform) -> None:
    token = secured.issuer.token(secured.signing_key, aud=f"not-{AUDIENCE}")

    assert_unauthorized(call(secured, bearer(token)))


def test_token_from_another_issuer_is_401(secured: SecuredPlatform) -> None:
    token = secured.issuer.token(secured.signing_key, iss="https://evil.test")

    assert_unauthorized(call(secured, bearer(token)))


def test_token_signed_by_another_key_under_a_known_kid_is_401(
    secured: SecuredPlatform,
) -> None:
    impostor = SigningKey.rsa()
    impostor.kid = secured.signing_key.kid  # claims to be the published key

    response = call(secured, bearer(secured.issuer.token(impostor)))

    assert_unauthorized(response)
    assert response.json()["detail"] == "token signature does not verify"


def test_symmetric_algorithm_is_refused(secured: SecuredPlatform) -> None:
    token = jwt.encode(
        {"sub": "x", "aud": AUDIENCE}, "a-shared-secret-of-32-bytes-long!", algorithm="HS256"
    )

    assert_unauthorized(call(secured, bearer(token)))


def test_unknown_kid_refreshes_the_jwks_and_then_verifies(secured: SecuredPlatform) -> None:
    assert call(secured, bearer(secured.issuer.token(secured.signing_key))).status_code == 200
    rotated = SigningKey.ec()
    secured.issuer.published.append(rotated)  # the issuer rotates in a new (ES256) key
    fetches_before = secured.issuer.fetches

    response = call(secured, bearer(secured.issuer.token(rotated)))

    assert response.status_code == 200
    assert secured.issuer.fetches == fetches_before + 1


def test_kid_the_issuer_never_published_is_401(secured: SecuredPlatform) -> None:
    stranger = SigningKey.rsa()

    assert_unauthorized(call(secured, bearer(secured.issuer.token(stranger))))


def test_admin_route_is_403_for_a_non_admin_key(secured: SecuredPlatform) -> None:
    response = call(secured, api_key(secured.user_key), route=("GET", "/_admin/keys"))

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


def test_admin_route_is_401_for_an_anonymous_caller(secured: SecuredPlatform) -> None:
    assert_unauthorized(call(secured, route=("GET", "/_admin/keys")))


def test_admin_lists_keys_without_their_secrets(secured: SecuredPlatform) -> None:
    response = call(secured, api_key(secured.admin_key), route=("GET", "/_admin/keys"))

    assert response.status_code == 200
    assert {"alice", "root"} <= {key["owner"] for key in response.json()["keys"]}
    assert secured.user_key.split("_", 2)[2] not in response.text


def test_request_log_names_key_id_and_owner_but_never_the_key(
    secured: SecuredPlatform,
) -> None:
    key = issue_key(secured.keys_db, "logged-owner")
    key_id = key.split("_")[1]

    call(secured, api_key(key))

    line = secured.gateway.process.wait_for_line(
        lambda line: key_id in line and '"event": "request"' in line
    )
    assert '"owner": "logged-owner"' in line
    assert key not in secured.gateway.process.last_output(2000)
