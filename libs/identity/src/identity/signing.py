"""The signed identity header: format, signing and verification.

Written by hand (40 lines of `hmac`) because the alternatives carry far more than
needed: a JWT between the gateway and the services would work but brings key handling,
algorithm negotiation and a dependency for what is a shared-secret MAC over five fields.

Header value: `v1.<timestamp>.<payload>.<signature>` where payload is the base64url
JSON identity and signature is hex HMAC-SHA256(secret, "v1\\n" + method + "\\n" + path
+ "\\n" + timestamp + "\\n" + payload). Binding method and path means a captured header
cannot be replayed against another route; the timestamp bounds replay in time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

IDENTITY_HEADER = "X-Platform-Identity"
VERSION = "v1"
DEFAULT_MAX_AGE_S = 30.0
ANONYMOUS = "anonymous"


class InvalidIdentity(Exception):
    """The identity header is missing, malformed, badly signed or stale."""


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


def _mac(secret: bytes, method: str, path: str, timestamp: str, payload: str) -> str:
    message = "\n".join((VERSION, method.upper(), path, timestamp, payload)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(secret: bytes, method: str, path: str, who: Identity, *, now: float | None = None) -> str:
    """The header value carrying `who` for one request (`method` on `path`)."""
    timestamp = str(int(now if now is not None else time.time()))
    raw = json.dumps(who.to_json(), separators=(",", ":"), sort_keys=True).encode()
    payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{VERSION}.{timestamp}.{payload}.{_mac(secret, method, path, timestamp, payload)}"


def verify(
    secret: bytes,
    method: str,
    path: str,
    header: str | None,
    *,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    now: float | None = None,
) -> Identity:
    """The identity in `header`, or InvalidIdentity. Constant-time signature check."""
    if not header:
        raise InvalidIdentity("no identity header")
    parts = header.split(".")
    if len(parts) != 4 or parts[0] != VERSION or not parts[1].isdigit():
        raise InvalidIdentity("malformed identity header")
    _, timestamp, payload, signature = parts
    expected = _mac(secret, method, path, timestamp, payload)
    if not hmac.compare_digest(expected, signature):
        raise InvalidIdentity("identity signature does not match")
    age = (now if now is not None else time.time()) - int(timestamp)
    if abs(age) > max_age_s:
        raise InvalidIdentity("identity header is stale")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise InvalidIdentity("identity payload is not base64url JSON") from error
    if not isinstance(body, dict):
        raise InvalidIdentity("identity payload is not an object")
    return Identity.from_json(body)
