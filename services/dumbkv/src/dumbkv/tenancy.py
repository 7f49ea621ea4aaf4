"""Which caller may use which database number.

With the gateway's identity enforced (PLATFORM_IDENTITY_SECRET set), database numbers
are scoped per caller by `DUMBKV_TENANT_DATABASES`, a JSON map from identity subject to
the database numbers it owns; `"*"` applies to authenticated callers not listed.
Admins may use any database. Anonymous callers may use none (KV data is private).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi import Request

from identity import caller
from observability import ProblemError

EVERYONE_ELSE = "*"


def authorize_database(request: Request, database: int) -> None:
    who = caller(request)
    if who is None:  # identity not enforced (a dumbkv run on its own)
        return
    if who.is_anonymous:
        raise ProblemError(
            401,
            detail="sign in to use the key-value store",
            headers={"WWW-Authenticate": "Api-Key, Bearer"},
        )
    if who.is_admin:
        return
    tenants: Mapping[str, Sequence[int]] = request.app.state.tenant_databases
    allowed = tenants.get(who.subject, tenants.get(EVERYONE_ELSE, ()))
    if database not in allowed:
        raise ProblemError(403, detail=f"database {database} does not belong to you")
