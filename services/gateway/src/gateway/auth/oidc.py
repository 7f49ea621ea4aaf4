"""JWT bearer tokens from an OIDC issuer, checked against the issuer's JWKS.

The JWKS is fetched over HTTP (async, never blocking the event loop), cached for
`ttl_s`, and refetched when a token names a `kid` the cache does not hold — the way an
issuer's key rotation reaches us — but at most once per `min_refresh_s`, so a flood of
tokens with made-up kids cannot turn the gateway into a load generator against the
issuer. Only RS256 and ES256 are accepted: asymmetric algorithms, so the JWKS holds
nothing secret, and `alg: none` / HS256-with-the-public-key confusion is impossible.
`iss`, `aud`, `exp` and `nbf` are validated with a small leeway for clock skew.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from identity import Identity

ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})


class TokenRejected(Exception):
    """The token is malformed, badly signed, expired, or not meant for us."""


# What the caller is told for each way a token fails (the first match wins).
_REJECTIONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not valid yet"),
    (jwt.InvalidAudienceError, "token not issued for this audience"),
    (jwt.InvalidIssuerError, "token from another issuer"),
    (jwt.InvalidSignatureError, "token signature does not verify"),
)


class IssuerUnavailable(Exception):
    """The issuer's JWKS could not be fetched and no cached copy can decide."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str
    leeway_s: float = 30.0
    jwks_ttl_s: float = 3600.0
    jwks_min_refresh_s: float = 30.0


class JwksCache:
    """Signing keys by `kid`, fetched from `url` and refreshed as described above."""

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        ttl_s: float = 3600.0,
        min_refresh_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.client = client
        self.ttl_s = ttl_s
        self.min_refresh_s = min_refresh_s
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str, PyJWK] | None = None
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> PyJWK:
        now = self.clock()
        if self._keys is None or now - self._fetched_at > self.ttl_s:
            await self._refresh(now)
        keys = self._keys or {}
        if kid not in keys:
            await self._refresh(now)  # the issuer may have rotated keys
            keys = self._keys or {}
        if kid not in keys:
            raise TokenRejected("token signed with an unknown key")
        return keys[kid]

    async def _refresh(self, requested_at: float) -> None:
        async with self._lock:
            if self._attempted_at >= requested_at:
                return  # another request refreshed while this one waited
            if self.clock() - self._attempted_at < self.min_refresh_s:
                if self._keys is None:
                    raise IssuerUnavailable("the issuer's JWKS is unavailable")
                return
            self._attempted_at = self.clock()
            self.fetches += 1
            try:
                response = await self.client.get(self.url, timeout=5.0)
                response.raise_for_status()
                keys = _parse_jwks(response.json())
            except (httpx.HTTPError, ValueError) as error:
                if self._keys is None:
                    raise IssuerUnavailable(f"could not fetch the JWKS: {error}") from error
                return  # keep serving from the keys we have
            self._keys = keys
            self._fetched_at = self._attempted_at


def _parse_jwks(document: Any) -> dict[str, PyJWK]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS document has no `keys` list")
    keys: dict[str, PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(entry)
        except jwt.PyJWTError:
            continue  # a key type or algorithm we do not support
        if key.algorithm_name in ALLOWED_ALGORITHMS:
            keys[entry["kid"]] = key
    return keys


class JwtVerifier:
    """Turns a bearer token into an `Identity` (method "jwt", roles from `roles`)."""

    def __init__(self, config: OidcConfig, jwks: JwksCache) -> None:
        self.config = config
        self.jwks = jwks

    async def verify(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenRejected("malformed token") from error
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise TokenRejected("token algorithm not accepted (RS256 or ES256 only)")
        if not isinstance(kid, str):
            raise TokenRejected("token header has no kid")
        key = await self.jwks.key(kid)
        if key.algorithm_name != algorithm:
            raise TokenRejected("token algorithm does not match its key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            reason = next(
                (r for kind, r in _REJECTIONS if isinstance(error, kind)), "invalid token"
            )
            raise TokenRejected(reason) from error
        roles = claims.get("roles", [])
        if not isinstance(roles, list):
            roles = []
        return Identity(
            subject=str(claims["sub"]),
            method="jwt",
            roles=frozenset(role for role in roles if isinstance(role, str)),
        )
