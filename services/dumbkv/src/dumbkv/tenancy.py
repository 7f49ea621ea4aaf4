"""Whose databases a request uses.

With the gateway's identity enforced (PLATFORM_IDENTITY_SECRET set), every authenticated
caller has its own private namespace of databases (0 to 2^31 - 1), derived from its
identity subject and folded into the stored id (`crypto.stored_id`): no configuration
lets one caller reach another's private data. The *shared* namespace is what a dumbkv
without identity uses, and what admins use; `DUMBKV_TENANT_DATABASES` (JSON: subject →
database numbers, `"*"` for subjects not listed; empty by default) grants a caller
chosen databases of it instead of its own. Anonymous callers may use none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi import Request

from identity import caller
from observability import ProblemError

EVERYONE_ELSE = "*"


def tenant_for(request: Request, database: int) -> str | None:
    """The private namespace of the caller for `database`, None for the shared one;
    401 for anonymous callers."""
    who = caller(request)
    if who is None:  # identity not enforced (a dumbkv run on its own)
        return None
    if who.is_anonymous:
        raise ProblemError(
            401,
            detail="sign in to use the key-value store",
            headers={"WWW-Authenticate": "Api-Key, Bearer"},
        )
    if who.is_admin:
        return None
    shared: Mapping[str, Sequence[int]] = request.app.state.tenant_databases
    if database in shared.get(who.subject, shared.get(EVERYONE_ELSE, ())):
        return None
    return who.subject
