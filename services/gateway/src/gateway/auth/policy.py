"""Who may call what at the edge: one function from (mode, method, path) to a requirement.

Modes (`GATEWAY_AUTH_MODE`):
- `writes` (default): reads are open — GET/HEAD anywhere and `POST /graphql` (the schema
  has queries only) — and every other method under `/api/` needs an authenticated caller;
- `all`: every guarded route needs an authenticated caller;
- `off`: everything is open (credentials, when sent, are still checked and forwarded).
The admin API (`/_admin/`) needs an admin identity in every mode.

Object-level rules (whose avatar, which KV database) belong to the services, which get
the caller in the signed identity header; the edge only decides coarse access.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from gateway.contract import GRAPHQL_PATH
from identity import Identity

AuthMode = Literal["writes", "all", "off"]
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX = "/api/"
ADMIN_PREFIX = "/_admin/"


class Access(StrEnum):
    OPEN = "open"
    AUTHENTICATED = "authenticated"
    ADMIN = "admin"


class Unauthenticated(Exception):
    """The route needs a caller and none (or an invalid one) was presented.

    `challenge` names the schemes that would be accepted (the edge guard knows which).
    """

    def __init__(self, message: str, *, challenge: str = "") -> None:
        super().__init__(message)
        self.challenge = challenge


class Forbidden(Exception):
    """The caller is known but not allowed here."""


def required_access(mode: AuthMode, method: str, path: str) -> Access:
    if path.startswith(ADMIN_PREFIX):
        return Access.ADMIN
    if mode == "off":
        return Access.OPEN
    if mode == "all":
        return Access.AUTHENTICATED
    if method.upper() in READ_METHODS:
        return Access.OPEN
    if method.upper() == "POST" and path.rstrip("/") == GRAPHQL_PATH:
        return Access.OPEN
    if path.startswith(API_PREFIX):
        return Access.AUTHENTICATED
    return Access.OPEN


def authorize(required: Access, who: Identity) -> None:
    """Returns when `who` meets `required`; raises Unauthenticated or Forbidden."""
    if required is Access.OPEN:
        return
    if who.is_anonymous:
        raise Unauthenticated("this route needs an API key or a bearer token")
    if required is Access.ADMIN and not who.is_admin:
        raise Forbidden("this route needs an admin identity")
