"""Typed dependencies of dumbkv's routes: the service and whose databases a call uses.

The only place that reads the request or the app for them; routes declare what they need.

One dependency per route, not a small one per fact (each costs FastAPI work on every
request: CONTRIBUTING.md), so the store, the verified caller and the tenancy settings
come from one. They are `async` though they
never await: FastAPI runs a plain `def` dependency in its thread pool, a hop to a
worker thread and back on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import Depends, Request

from dumbkv.kv import KeyValueService
from dumbkv.tenancy import tenant_for
from identity import caller


@dataclass(frozen=True)
class CallerStore:
    """The store, and the caller's namespace for a database (dumbkv.tenancy): a
    function of the database, not a value, since the database is in the body, which
    the route validates first (a bad body is 422 before an anonymous caller's 401)."""

    kv: KeyValueService
    tenant_of: Callable[[int], str | None]


async def _kv(request: Request) -> KeyValueService:
    return request.app.state.kv  # set by the app's lifespan once the store is open


async def _caller_store(request: Request) -> CallerStore:
    who = caller(request)  # 401 on a route the identity check left open
    shared = request.app.state.settings.tenant_databases  # the Settings of create_app
    return CallerStore(request.app.state.kv, partial(tenant_for, who, shared=shared))


KV = Annotated[KeyValueService, Depends(_kv)]
# Every data route takes this: it is also what requires a verified caller.
Store = Annotated[CallerStore, Depends(_caller_store)]
