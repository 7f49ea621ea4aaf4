"""Who is calling, as the edge established it.

The gateway authenticates callers (API keys, OIDC tokens) and forwards the result in
one header, `X-Platform-Identity`, signed with a secret it shares with the services
(HMAC-SHA256 over method, raw path, query, body digest, timestamp, nonce and identity).
Services trust the identity only when the signature holds for the request they
received, it is fresh (5 s) and its nonce is new, so a caller that reaches a service
directly can neither forge one nor replay one it captured.

    from identity import Identity, sign, verify, VerifyIdentity, caller
"""

from identity.signing import (
    DEFAULT_MAX_AGE_S,
    IDENTITY_HEADER,
    PREVIOUS_SECRET_ENV,
    SECRET_ENV,
    Identity,
    InvalidIdentity,
    ReplayCache,
    SignedHeader,
    secrets_from_env,
    sign,
    verify,
    verify_header,
)
from identity.starlette import VerifyIdentity, caller, raw_path, require_caller

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "IDENTITY_HEADER",
    "PREVIOUS_SECRET_ENV",
    "SECRET_ENV",
    "Identity",
    "InvalidIdentity",
    "ReplayCache",
    "SignedHeader",
    "VerifyIdentity",
    "caller",
    "raw_path",
    "require_caller",
    "secrets_from_env",
    "sign",
    "verify",
    "verify_header",
]
