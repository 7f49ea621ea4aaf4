"""The signed identity header: format, signing, verification and the replay cache.

Written by hand (a few dozen lines of `hmac`) because the alternatives carry far more
than needed: a JWT between the gateway and the services would work but brings key
handling, algorithm negotiation and a dependency for a shared-secret MAC.

Header value: `v2.<ms>.<nonce>.<body digest>.<payload>.<signature>`: `ms` the Unix time
in milliseconds, `nonce` 128 random bits (base64url), `body digest` the base64url
SHA-256 of the request body, `payload` the base64url JSON identity, and `signature` the
hex HMAC-SHA256(secret, "v2" LF METHOD LF raw path LF hex SHA-256(raw query) LF ms LF
nonce LF body digest LF payload). So a captured header verifies only for the request it
was made for: the same method, the same percent-encoded path (ASGI `raw_path`, what
both sides see on the wire, so `%3F` in an id is never confused with `?`), the same
query and the same body, within `DEFAULT_MAX_AGE_S`, and once (`ReplayCache`).

The body digest travels in the header (and is signed) rather than being only
recomputed: a service can then check the signature, freshness and nonce *before*
reading a body, so a caller without a valid header never makes it buffer one.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

IDENTITY_HEADER = "X-Platform-Identity"
# The shared secret, and the one it replaces while a rotation is rolling out.
SECRET_ENV = "PLATFORM_IDENTITY_SECRET"  # noqa: S105 # pragma: allowlist secret (a name)
PREVIOUS_SECRET_ENV = "PLATFORM_IDENTITY_SECRET_PREVIOUS"  # noqa: S105 # pragma: allowlist secret
VERSION = "v2"
DEFAULT_MAX_AGE_S = 5.0
"""How old (or, for clock skew, how far in the future) a header may be: 5 s.

The gateway signs every attempt just before sending it (retries and hedges get a fresh
header), so the age at verification is only the time on the wire and in the service's
accept queue plus the clock skew between hosts: skew is milliseconds on NTP-synced
nodes (the Amazon Time Sync Service keeps EC2 clocks within about a millisecond), an
8 MiB body crosses a 1 Gb/s link in 70 ms, and a saturated event loop can delay reading
a request by a second or two. 5 s covers that with room, and bounds what the replay
cache must remember (`ReplayCache`) and the window in which a header captured on one
replica could be tried against another (each replica has its own cache).
"""
DEFAULT_REPLAY_ENTRIES = 100_000
ANONYMOUS = "anonymous"
_EMPTY_DIGEST = base64.urlsafe_b64encode(hashlib.sha256(b"").digest()).decode().rstrip("=")


class InvalidIdentity(Exception):
    """The identity header is missing, malformed, badly signed, stale or replayed."""


@dataclass(frozen=True)
class Identity:
    """A caller: `subject` (key owner or token `sub`), how it authenticated, its roles."""

    subject: str
    method: str = ANONYMOUS  # "api-key", "jwt" or "anonymous"
    roles: frozenset[str] = field(default_factory=frozenset)
    key_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_anonymous(self) -> bool:
        return self.method == ANONYMOUS

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "sub": self.subject,
            "method": self.method,
            "roles": sorted(self.roles),
        }
        if self.key_id:
            body["kid"] = self.key_id
        return body

    @classmethod
    def from_json(cls, body: dict[str, object]) -> Identity:
        subject, method, roles = body.get("sub"), body.get("method"), body.get("roles", [])
        if not isinstance(subject, str) or not subject or not isinstance(method, str):
            raise InvalidIdentity("identity lacks a subject or method")
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise InvalidIdentity("identity roles must be strings")
        key_id = body.get("kid")
        return cls(subject, method, frozenset(roles), key_id if isinstance(key_id, str) else None)


def anonymous() -> Identity:
    return Identity(ANONYMOUS)


def secrets_from_env(env: Mapping[str, str] | None = None) -> tuple[bytes, ...]:
    """The secrets a service accepts: `PLATFORM_IDENTITY_SECRET`, then `..._PREVIOUS`."""
    env = os.environ if env is None else env
    return tuple(
        value.encode() for name in (SECRET_ENV, PREVIOUS_SECRET_ENV) if (value := env.get(name))
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def body_digest(body: bytes) -> str:
    """The header's body field: base64url SHA-256, unpadded."""
    return _b64(hashlib.sha256(body).digest()) if body else _EMPTY_DIGEST


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")  # any str, never an exception


_EMPTY_QUERY_DIGEST = hashlib.sha256(b"").hexdigest()  # most requests carry no query


def _mac(secret: bytes, method: str, path: str, query: str, fields: Sequence[str]) -> str:
    query_digest = hashlib.sha256(_bytes(query)).hexdigest() if query else _EMPTY_QUERY_DIGEST
    message = "\n".join((VERSION, method.upper(), path, query_digest, *fields))
    # hmac.digest: the one-shot C path (no HMAC object per request).
    return hmac.digest(secret, _bytes(message), "sha256").hex()


def sign(
    secret: bytes,
    method: str,
    path: str | bytes,
    who: Identity,
    *,
    query: str | bytes = b"",
    body: bytes = b"",
    now: float | None = None,
    nonce: str | None = None,
) -> str:
    """The header value carrying `who` for one request.

    `path` and `query` are the raw, percent-encoded forms sent on the wire (no `?`);
    `body` the exact bytes sent. A fresh random nonce unless one is given (tests).
    """
    millis = str(int((now if now is not None else time.time()) * 1000))
    nonce = nonce or secrets.token_urlsafe(16)
    raw = json.dumps(who.to_json(), separators=(",", ":"), sort_keys=True).encode()
    fields = (millis, nonce, body_digest(body), _b64(raw))
    signature = _mac(secret, method, _text(path), _text(query), fields)
    return ".".join((VERSION, *fields, signature))


@dataclass(frozen=True)
class SignedHeader:
    """A header whose signature and age hold; its body digest is still to be checked."""

    identity: Identity
    nonce: str
    body_digest: str

    def check_body(self, body: bytes) -> None:
        """InvalidIdentity unless `body` is the body the header was signed for."""
        if not hmac.compare_digest(body_digest(body), self.body_digest):
            raise InvalidIdentity("identity was signed for another body")


def _as_tuple(secret: bytes | Sequence[bytes]) -> tuple[bytes, ...]:
    return (secret,) if isinstance(secret, bytes) else tuple(secret)


def verify_header(
    secret: bytes | Sequence[bytes],
    method: str,
    path: str | bytes,
    header: str | None,
    *,
    query: str | bytes = b"",
    max_age_s: float = DEFAULT_MAX_AGE_S,
    now: float | None = None,
) -> SignedHeader:
    """Check signature (under any of the given secrets: current, then previous) and
    age, without the body; see `verify` for the whole check."""
    if not header:
        raise InvalidIdentity("no identity header")
    parts = header.split(".")
    if len(parts) != 6 or parts[0] != VERSION or not parts[1].isdigit():
        raise InvalidIdentity("malformed identity header")
    _, millis, nonce, digest, payload, signature = parts
    fields = (millis, nonce, digest, payload)
    matched = False
    for key in _as_tuple(secret):  # every secret is tried: time does not tell which
        expected = _mac(key, method, _text(path), _text(query), fields)
        matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise InvalidIdentity("identity signature does not match this request")
    age = (now if now is not None else time.time()) - int(millis) / 1000
    if abs(age) > max_age_s:
        raise InvalidIdentity("identity header is stale")
    return SignedHeader(_identity_of(payload), nonce, digest)


@functools.lru_cache(maxsize=4096)
def _identity_of(payload: str) -> Identity:
    """The identity a (signed, so genuine) payload carries. Cached: the gateway sends
    the same payload for every request of one caller, and decoding it (base64, JSON,
    the checks of `Identity.from_json`) was a third of a verification. `Identity` is
    frozen, so callers share one object safely; a bad payload raises each time (an
    exception is never cached)."""
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError) as error:
        raise InvalidIdentity("identity payload is not base64url JSON") from error
    if not isinstance(body, dict):
        raise InvalidIdentity("identity payload is not an object")
    return Identity.from_json(body)


def verify(
    secret: bytes | Sequence[bytes],
    method: str,
    path: str | bytes,
    header: str | None,
    *,
    query: str | bytes = b"",
    body: bytes = b"",
    max_age_s: float = DEFAULT_MAX_AGE_S,
    now: float | None = None,
) -> Identity:
    """The identity in `header` if it was signed for exactly this request, else
    InvalidIdentity. Constant-time comparisons. Replays are the caller's to refuse
    (`ReplayCache`; the service middleware does it)."""
    signed = verify_header(secret, method, path, header, query=query, max_age_s=max_age_s, now=now)
    signed.check_body(body)
    return signed.identity


class ReplayCache:
    """Nonces seen in the last `2 x max_age_s`, at most `max_entries` of them.

    A header verifies for `max_age_s` either side of its timestamp, so a nonce accepted
    at local time t can verify again until at most t + 2 x max_age_s: it is kept that
    long, then forgotten. Entries are in arrival order, which is also expiry order.
    Bounded (default 100,000: 10,000 signed requests per second per process, each kept
    10 s, far above any service's throughput); past the bound the oldest entry
    goes first, so protection then covers the last `max_entries` requests. Only
    requests with a valid signature are recorded, so only the gateway fills it.
    One per process: not shared between replicas or workers.
    """

    def __init__(
        self,
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        max_entries: int = DEFAULT_REPLAY_ENTRIES,
    ) -> None:
        self.retention_s = 2 * max_age_s
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def first_use(self, nonce: str, *, now: float | None = None) -> bool:
        """Record `nonce`; False if it was already used within the window."""
        at = now if now is not None else time.monotonic()
        while self._seen and next(iter(self._seen.values())) <= at:
            self._seen.popitem(last=False)
        if nonce in self._seen:
            return False
        self._seen[nonce] = at + self.retention_s
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return True

    def forget(self, nonce: str) -> None:
        """Release a nonce whose request failed its body check (the genuine one may
        still arrive)."""
        self._seen.pop(nonce, None)
