"""Typed dependencies of the users routes: the service, the caller and its rights, and
the path prefix the edge mounted us under.

The only place that reads the request or the app for them; routes declare what they need.

One dependency per route (`Call`), not a small one per fact (each costs FastAPI work
on every request: CONTRIBUTING.md). It is `async` though it
never awaits: FastAPI runs a plain `def` dependency in its thread pool, a hop to a
worker thread and back on every request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from identity import Identity, caller
from users.service import Authorize, UserService, may_change

SAFE_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


@dataclass(frozen=True)
class UsersCall:
    """What a route needs besides its parameters."""

    service: UserService
    # The verified caller; None when identity is not enforced (users run on its own).
    who: Identity | None
    # Raises Forbidden unless the caller may change the user it is given (users.service).
    authorize: Authorize
    # Path prefix the edge mounted us under ("" when called directly).
    prefix: str


def _prefix(request: Request) -> str:
    # The gateway sends `X-Forwarded-Prefix`; anything but plain path segments is
    # ignored, so a caller cannot put its own text into the links we answer with.
    prefix = request.headers.get("x-forwarded-prefix", "").rstrip("/")
    return prefix if SAFE_PREFIX.match(prefix) else ""


async def _call(request: Request) -> UsersCall:
    who = caller(request)  # 401 on a route the identity check left open
    service = request.app.state.users  # set by the app's lifespan once the clients are open
    return UsersCall(service, who, may_change(who), _prefix(request))


# Every route takes this: it is also what requires a verified caller.
Call = Annotated[UsersCall, Depends(_call)]
