"""The signed identity header: what verifies and what must not."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity import Identity, InvalidIdentity, sign, verify

SECRET = b"s" * 32
ALICE = Identity("alice", "api-key", frozenset({"admin"}), key_id="k1")
NOW = 1_800_000_000.0


def test_round_trip_keeps_every_field() -> None:
    header = sign(SECRET, "put", "/kv", ALICE, now=NOW)

    assert verify(SECRET, "PUT", "/kv", header, now=NOW + 5) == ALICE


@given(
    subject=st.text(min_size=1, max_size=50),
    roles=st.frozensets(st.text(max_size=10), max_size=4),
    path=st.text(alphabet="/abcxyz-_0123456789", min_size=1, max_size=40),
)
def test_any_identity_round_trips(subject: str, roles: frozenset[str], path: str) -> None:
    who = Identity(subject, "jwt", roles)
    assert verify(SECRET, "GET", path, sign(SECRET, "GET", path, who, now=NOW), now=NOW) == who


@pytest.mark.parametrize(
    ("method", "path", "secret", "at", "reason"),
    [
        ("DELETE", "/kv", SECRET, NOW, "signature"),  # replayed on another method
        ("PUT", "/users/1", SECRET, NOW, "signature"),  # replayed on another path
        ("PUT", "/kv", b"x" * 32, NOW, "signature"),  # not the gateway's secret
        ("PUT", "/kv", SECRET, NOW + 31, "stale"),  # too old
        ("PUT", "/kv", SECRET, NOW - 31, "stale"),  # from the future
    ],
)
def test_replays_forgeries_and_stale_headers_are_refused(
    method: str, path: str, secret: bytes, at: float, reason: str
) -> None:
    header = sign(SECRET, "PUT", "/kv", ALICE, now=NOW)

    with pytest.raises(InvalidIdentity, match=reason):
        verify(secret, method, path, header, now=at)


def test_a_tampered_payload_does_not_verify() -> None:
    version, timestamp, _payload, signature = sign(SECRET, "GET", "/", ALICE, now=NOW).split(".")
    forged_payload = sign(
        SECRET, "GET", "/", Identity("mallory", "api-key", frozenset({"admin"})), now=NOW
    ).split(".")[2]

    with pytest.raises(InvalidIdentity):
        verify(SECRET, "GET", "/", f"{version}.{timestamp}.{forged_payload}.{signature}", now=NOW)


@pytest.mark.parametrize("header", [None, "", "v1", "v2.1.e30.00", "v1.abc.e30.00", "a.b.c.d.e"])
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
    verify(SECRET, "GET", "/", sign(SECRET, "GET", "/", ALICE, now=NOW), now=NOW)

    assert len(calls) == 1
