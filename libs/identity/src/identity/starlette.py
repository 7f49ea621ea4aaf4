"""Reading the verified caller inside a service (Starlette/FastAPI requests).

Enforcement is on when the app has a secret (`app.state.identity_secret`, set from the
service's settings, typically `PLATFORM_IDENTITY_SECRET`): every request must then carry
a valid, fresh, gateway-signed identity or gets 401. Without a secret (a service run on
its own in dev) there is no identity and `caller()` returns None.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from identity.signing import DEFAULT_MAX_AGE_S, IDENTITY_HEADER, Identity, InvalidIdentity, verify


def caller(request: Request) -> Identity | None:
    """The verified caller, None when enforcement is off; 401 when the header is bad."""
    secret: bytes | None = getattr(request.app.state, "identity_secret", None)
    if not secret:
        return None
    cached = request.scope.get("platform.identity")
    if isinstance(cached, Identity):
        return cached
    max_age = getattr(request.app.state, "identity_max_age_s", DEFAULT_MAX_AGE_S)
    try:
        who = verify(
            secret,
            request.method,
            request.url.path,
            request.headers.get(IDENTITY_HEADER),
            max_age_s=max_age,
        )
    except InvalidIdentity as error:
        raise HTTPException(
            401,
            detail=f"{error}: call through the gateway",
            headers={"WWW-Authenticate": "Platform"},
        ) from error
    request.scope["platform.identity"] = who
    return who


def require_caller(request: Request) -> Identity | None:
    """FastAPI dependency form of `caller` (use in `dependencies=[Depends(...)]`)."""
    return caller(request)
