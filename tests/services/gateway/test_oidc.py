"""JWKS caching and refresh, with the issuer played by httpx.MockTransport and a fake clock."""

from __future__ import annotations

import httpx
import pytest

from gateway.auth.oidc import IssuerUnavailable, JwksCache, TokenRejected
from tests.fixtures.gateway import SigningKey

KEY_A, KEY_B, KEY_C = SigningKey.rsa(), SigningKey.ec(), SigningKey.rsa()


class FakeIssuer:
    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.down:
            return httpx.Response(503)
        return httpx.Response(200, json={"keys": [key.jwk for key in self.keys]})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(issuer: FakeIssuer, clock: FakeClock, *, min_refresh_s: float = 30) -> JwksCache:
    client = httpx.AsyncClient(transport=httpx.MockTransport(issuer))
    return JwksCache(
        "https://issuer.test/jwks", client, ttl_s=3600, min_refresh_s=min_refresh_s, clock=clock
    )


async def test_keys_are_fetched_once_and_served_from_the_cache() -> None:
    issuer, clock = FakeIssuer(KEY_A), FakeClock()
    jwks = cache(issuer, clock)

    await jwks.key(KEY_A.kid)
    clock.now += 1
    await jwks.key(KEY_A.kid)

    assert issuer.fetches == 1


async def test_unknown_kid_triggers_a_refresh_that_finds_the_rotated_key() -> None:
    issuer, clock = FakeIssuer(KEY_A), FakeClock()
    jwks = cache(issuer, clock)
    await jwks.key(KEY_A.kid)
    issuer.keys.append(KEY_B)
    clock.now += 60

    key = await jwks.key(KEY_B.kid)

    assert key.algorithm_name == "ES256"
    assert issuer.fetches == 2


async def test_unknown_kids_refresh_at_most_once_per_min_refresh_interval() -> None:
    issuer, clock = FakeIssuer(KEY_A), FakeClock()
    jwks = cache(issuer, clock, min_refresh_s=30)
    await jwks.key(KEY_A.kid)

    for _ in range(5):
        clock.now += 1
        with pytest.raises(TokenRejected):
            await jwks.key(KEY_C.kid)

    assert issuer.fetches == 1  # 5 s after the first fetch: no refetch allowed yet
    clock.now += 30
    with pytest.raises(TokenRejected):
        await jwks.key(KEY_C.kid)
    assert issuer.fetches == 2


async def test_issuer_down_with_nothing_cached_is_unavailable() -> None:
    issuer, clock = FakeIssuer(KEY_A), FakeClock()
    issuer.down = True

    with pytest.raises(IssuerUnavailable):
        await cache(issuer, clock).key(KEY_A.kid)


async def test_cached_keys_keep_working_while_the_issuer_is_down() -> None:
    issuer, clock = FakeIssuer(KEY_A), FakeClock()
    jwks = cache(issuer, clock)
    await jwks.key(KEY_A.kid)
    issuer.down = True
    clock.now += 7200  # past the TTL: a refresh is attempted and fails

    key = await jwks.key(KEY_A.kid)

    assert key.key_id == KEY_A.kid
    assert issuer.fetches == 2


async def test_symmetric_keys_in_the_jwks_are_ignored() -> None:
    issuer, clock = FakeIssuer(KEY_A), FakeClock()
    hmac_jwk = {"kty": "oct", "k": "c2VjcmV0", "kid": "hs", "alg": "HS256"}
    issuer.keys.append(SigningKey("hs", "HS256", None, hmac_jwk))

    with pytest.raises(TokenRejected):
        await cache(issuer, clock).key("hs")
