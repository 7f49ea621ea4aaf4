"""Who is calling, as the edge established it.

The gateway authenticates callers (API keys, OIDC tokens) and forwards the result in
one header, `X-Platform-Identity`, signed with a secret it shares with the services
(HMAC-SHA256 over method, path, identity and timestamp). Services trust the identity
only when the signature holds and the timestamp is fresh, so a caller that reaches a
service directly cannot forge one.

    from identity import Identity, sign, verify, IDENTITY_HEADER
"""

from identity.signing import (
    IDENTITY_HEADER,
    Identity,
    InvalidIdentity,
    sign,
    verify,
)
from identity.starlette import caller, require_caller

__all__ = [
    "IDENTITY_HEADER",
    "Identity",
    "InvalidIdentity",
    "caller",
    "require_caller",
    "sign",
    "verify",
]
