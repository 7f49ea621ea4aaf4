"""Typed dependencies of dumbkv's routes: the service and whose databases a call uses.

The only place that reads the request or the app for them; routes declare what they need.
They are `async` though they never await: FastAPI runs a plain `def` dependency in its
thread pool, a hop to a worker thread and back on every request for an attribute lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import Depends, Request

from dumbkv.kv import KeyValueService
from dumbkv.settings import Settings
from dumbkv.tenancy import tenant_for
from identity import Identity, require_caller


async def _kv(request: Request) -> KeyValueService:
    return request.app.state.kv  # set by the app's lifespan once the store is open


async def _settings(request: Request) -> Settings:
    return request.app.state.settings  # the Settings create_app was given


async def _tenant_of(
    who: Annotated[Identity | None, Depends(require_caller)],
    settings: Annotated[Settings, Depends(_settings)],
) -> Callable[[int], str | None]:
    # A function of the database, not a value: the database is in the body, which the
    # route validates first (a bad body is 422 before an anonymous caller's 401).
    return partial(tenant_for, who, shared=settings.tenant_databases)


KV = Annotated[KeyValueService, Depends(_kv)]
# database -> the caller's private namespace, or None for the shared one (dumbkv.tenancy).
TenantOf = Annotated[Callable[[int], str | None], Depends(_tenant_of)]
