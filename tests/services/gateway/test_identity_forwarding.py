"""The caller the edge admitted reaches the service as a signed `X-Platform-Identity`."""

from __future__ import annotations

import httpx

from identity import IDENTITY_HEADER, Identity, sign, verify
from tests.fixtures.gateway import (
    IDENTITY_SECRET,
    SecuredPlatform,
    api_key,
    bearer,
    issue_key,
)

SECRET = IDENTITY_SECRET.encode()


def test_key_owner_reaches_the_service_signed_over_the_upstream_route(
    secured: SecuredPlatform,
) -> None:
    key = issue_key(secured.keys_db, "dave", admin=True)

    httpx.post(f"{secured.gateway.url}/api/users", json={"name": "dave"}, headers=api_key(key))

    received = secured.upstream.requests_to("/user")[-1]
    who = verify(SECRET, "POST", "/user", received.headers[IDENTITY_HEADER], body=received.body)
    assert (who.subject, who.method, who.key_id) == ("dave", "api-key", key.split("_")[1])
    assert who.is_admin


def test_bearer_subject_and_roles_reach_the_service(secured: SecuredPlatform) -> None:
    token = secured.issuer.token(secured.signing_key, sub="erin", roles=["writer"])

    httpx.put(f"{secured.gateway.url}/api/users/erin/avatar", headers=bearer(token))

    received = secured.upstream.requests_to("/users/erin/avatar")[-1]
    who = verify(SECRET, "PUT", "/users/erin/avatar", received.headers[IDENTITY_HEADER])
    assert (who.subject, who.method, who.roles) == ("erin", "jwt", frozenset({"writer"}))


def test_repeated_query_parameters_all_reach_the_service(secured: SecuredPlatform) -> None:
    httpx.get(f"{secured.gateway.url}/api/llms/repeated-params?tag=a&tag=b&limit=5")

    received = secured.upstream.requests_to("/llms/repeated-params")[-1]
    assert received.query == "tag=a&tag=b&limit=5"


def test_anonymous_reader_reaches_the_service_as_anonymous(secured: SecuredPlatform) -> None:
    httpx.get(f"{secured.gateway.url}/api/llms/anonymous-probe")

    received = secured.upstream.requests_to("/llms/anonymous-probe")[-1]
    who = verify(SECRET, "GET", "/llms/anonymous-probe", received.headers[IDENTITY_HEADER])
    assert who.is_anonymous


def test_identity_sent_by_the_client_is_replaced_not_passed_on(
    secured: SecuredPlatform,
) -> None:
    forged = sign(SECRET, "GET", "/llms/forged", Identity("root", "api-key", frozenset({"admin"})))

    httpx.get(f"{secured.gateway.url}/api/llms/forged", headers={IDENTITY_HEADER: forged})

    received = secured.upstream.requests_to("/llms/forged")[-1]
    assert received.headers[IDENTITY_HEADER] != forged
    assert verify(SECRET, "GET", "/llms/forged", received.headers[IDENTITY_HEADER]).is_anonymous


def test_credentials_never_reach_the_service(secured: SecuredPlatform) -> None:
    httpx.get(f"{secured.gateway.url}/api/llms/no-leak", headers=api_key(secured.user_key))

    received = secured.upstream.requests_to("/llms/no-leak")[-1]
    assert "authorization" not in {name.lower() for name in received.headers}
