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

from identity import Identity

EVERYONE_ELSE = "*"


class SignInRequired(Exception):
    """An anonymous caller has no databases: neither a private namespace nor shared ones."""

    def __init__(self) -> None:
        super().__init__("sign in to use the key-value store")


def tenant_for(
    who: Identity | None, database: int, *, shared: Mapping[str, Sequence[int]]
) -> str | None:
    """The private namespace of `who` for `database`, None for the shared one.

    `who` is None when identity is not enforced (a dumbkv run on its own); `shared` is
    `DUMBKV_TENANT_DATABASES`. SignInRequired for anonymous callers.
    """
    if who is None:
        return None
    if who.is_anonymous:
        raise SignInRequired()
    if who.is_admin:
        return None
    if database in shared.get(who.subject, shared.get(EVERYONE_ELSE, ())):
        return None
    return who.subject
