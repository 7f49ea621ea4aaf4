"""The signed identity header: what verifies and what must not."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity import (
    DEFAULT_MAX_AGE_S,
    Identity,
    InvalidIdentity,
    ReplayCache,
    secrets_from_env,
    sign,
    verify,
)

SECRET = b"s" * 32
OLD_SECRET = b"o" * 32
ALICE = Identity("alice", "api-key", frozenset({"admin"}), key_id="k1")
NOW = 1_800_000_000.0
BODY = b'{"key":"k","value":"v"}'
QUERY = b"overwrite=true"


def signed(**overrides: object) -> str:
    arguments: dict = {"query": QUERY, "body": BODY, "now": NOW} | overrides
    secret = arguments.pop("secret", SECRET)
    return sign(secret, "PUT", "/kv", ALICE, **arguments)


def test_round_trip_keeps_every_field() -> None:
    header = sign(SECRET, "put", "/kv", ALICE, query=QUERY, body=BODY, now=NOW)

    assert verify(SECRET, "PUT", "/kv", header, query=QUERY, body=BODY, now=NOW + 4) == ALICE


@given(
    subject=st.text(min_size=1, max_size=50),
    roles=st.frozensets(st.text(max_size=10), max_size=4),
    path=st.text(alphabet="/abcxyz-_%0123456789", min_size=1, max_size=40),
    query=st.binary(max_size=40),
    body=st.binary(max_size=200),
)
def test_any_identity_round_trips(
    subject: str, roles: frozenset[str], path: str, query: bytes, body: bytes
) -> None:
    who = Identity(subject, "jwt", roles)
    header = sign(SECRET, "GET", path, who, query=query, body=body, now=NOW)

    assert verify(SECRET, "GET", path, header, query=query, body=body, now=NOW) == who


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "secret", "at", "reason"),
    [
        ("DELETE", "/kv", QUERY, BODY, SECRET, NOW, "signature"),  # another method
        ("PUT", "/users/1", QUERY, BODY, SECRET, NOW, "signature"),  # another path
        ("PUT", "/kv", b"", BODY, SECRET, NOW, "signature"),  # the query dropped
        ("PUT", "/kv", b"overwrite=false", BODY, SECRET, NOW, "signature"),  # another query
        ("PUT", "/kv", QUERY, b'{"key":"k","value":"w"}', SECRET, NOW, "body"),  # another body
        ("PUT", "/kv", QUERY, b"", SECRET, NOW, "body"),  # the body dropped
        ("PUT", "/kv", QUERY, BODY, b"x" * 32, NOW, "signature"),  # not the gateway's secret
        ("PUT", "/kv", QUERY, BODY, SECRET, NOW + DEFAULT_MAX_AGE_S + 0.01, "stale"),  # old
        ("PUT", "/kv", QUERY, BODY, SECRET, NOW - DEFAULT_MAX_AGE_S - 0.01, "stale"),  # future
    ],
)
def test_a_header_verifies_only_for_the_request_it_was_signed_for(
    method: str, path: str, query: bytes, body: bytes, secret: bytes, at: float, reason: str
) -> None:
    with pytest.raises(InvalidIdentity, match=reason):
        verify(secret, method, path, signed(), query=query, body=body, now=at)


def test_a_header_six_seconds_old_is_stale() -> None:
    with pytest.raises(InvalidIdentity, match="stale"):
        verify(SECRET, "PUT", "/kv", signed(), query=QUERY, body=BODY, now=NOW + 6)


def test_an_encoded_question_mark_is_not_a_query() -> None:
    header = sign(SECRET, "GET", "/users/a%3Fb", ALICE, now=NOW)

    assert verify(SECRET, "GET", b"/users/a%3Fb", header, now=NOW) == ALICE
    with pytest.raises(InvalidIdentity):
        verify(SECRET, "GET", "/users/a", header, query=b"b", now=NOW)


def test_the_previous_secret_is_accepted_during_a_rotation() -> None:
    header = signed(secret=OLD_SECRET)

    assert verify((SECRET, OLD_SECRET), "PUT", "/kv", header, query=QUERY, body=BODY, now=NOW)
    with pytest.raises(InvalidIdentity, match="signature"):
        verify((SECRET,), "PUT", "/kv", header, query=QUERY, body=BODY, now=NOW)


def test_secrets_come_from_the_current_then_the_previous_variable() -> None:
    current, previous = "PLATFORM_IDENTITY_SECRET", "PLATFORM_IDENTITY_SECRET_PREVIOUS"
    env = {current: "new", previous: "old"}

    assert secrets_from_env(env) == (b"new", b"old")
    assert secrets_from_env({"PLATFORM_IDENTITY_SECRET_PREVIOUS": ""}) == ()


def test_every_header_carries_its_own_nonce() -> None:
    first, second = signed().split(".")[2], signed().split(".")[2]

    assert first != second
    assert len(first) >= 22  # 128 random bits, base64url


def test_a_tampered_payload_does_not_verify() -> None:
    parts = signed().split(".")
    parts[4] = sign(SECRET, "PUT", "/kv", Identity("mallory", "api-key"), now=NOW).split(".")[4]

    with pytest.raises(InvalidIdentity):
        verify(SECRET, "PUT", "/kv", ".".join(parts), query=QUERY, body=BODY, now=NOW)


@pytest.mark.parametrize(
    "header", [None, "", "v2", "v1.1.e30.00", "v2.abc.n.d.e30.00", "a.b.c.d.e", "v2.1.n.d.e30"]
)
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(InvalidIdentity):
        verify(SECRET, "GET", "/", header, now=NOW)


def test_signature_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    original = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module identity.signing calls
    verify((SECRET, OLD_SECRET), "GET", "/", sign(SECRET, "GET", "/", ALICE, now=NOW), now=NOW)

    assert len(calls) == 3  # each secret's MAC, then the body digest


def test_a_nonce_is_accepted_once_within_the_window() -> None:
    cache = ReplayCache(max_age_s=5.0)

    assert cache.first_use("n1", now=100.0)
    assert not cache.first_use("n1", now=109.9)


def test_a_nonce_is_forgotten_once_its_header_cannot_verify_any_more() -> None:
    cache = ReplayCache(max_age_s=5.0)
    cache.first_use("n1", now=100.0)

    cache.first_use("n2", now=110.0)  # 2 x 5 s later: n1's header is stale everywhere

    assert len(cache) == 1
    assert cache.first_use("n1", now=110.0)


@given(nonces=st.lists(st.text(min_size=1, max_size=8), max_size=200))
def test_the_cache_never_holds_more_than_its_bound(nonces: list[str]) -> None:
    cache = ReplayCache(max_entries=16)
    for nonce in nonces:
        cache.first_use(nonce, now=0.0)

    assert len(cache) <= 16


def test_a_forgotten_nonce_can_be_used_again() -> None:
    cache = ReplayCache()
    cache.first_use("n1", now=0.0)

    cache.forget("n1")

    assert cache.first_use("n1", now=0.0)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("!!not-base64!!", "not base64url JSON"),
        ("WzEsMl0", "not an object"),  # [1,2]
        ("eyJtZXRob2QiOiJhcGkta2V5In0", "lacks a subject"),  # {"method":"api-key"}
    ],
)
def test_a_validly_signed_payload_that_is_no_identity_is_refused_every_time(
    payload: str, reason: str
) -> None:
    from identity.signing import _mac, body_digest

    fields = (str(int(NOW * 1000)), "nonce", body_digest(BODY), payload)
    header = ".".join(("v2", *fields, _mac(SECRET, "PUT", "/kv", QUERY.decode(), fields)))

    for _ in range(2):  # the decoded identities are cached: a refusal must not be
        with pytest.raises(InvalidIdentity, match=reason):
            verify(SECRET, "PUT", "/kv", header, query=QUERY, body=BODY, now=NOW)


def test_callers_with_the_same_payload_get_equal_identities() -> None:
    first = verify(SECRET, "PUT", "/kv", signed(), query=QUERY, body=BODY, now=NOW)
    second = verify(SECRET, "PUT", "/kv", signed(), query=QUERY, body=BODY, now=NOW)

    assert first == second == ALICE
