"""Typed dependencies of the users routes: the service, the caller and its rights, and
the path prefix the edge mounted us under.

The only place that reads the request or the app for them; routes declare what they need.
They are `async` though they never await: FastAPI runs a plain `def` dependency in its
thread pool, a hop to a worker thread and back on every request for an attribute lookup.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request

from identity import Identity, require_caller
from users.service import Authorize, UserService, may_change

SAFE_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


async def _users(request: Request) -> UserService:
    return request.app.state.users  # set by the app's lifespan once the clients are open


async def _authorize(who: Annotated[Identity | None, Depends(require_caller)]) -> Authorize:
    return may_change(who)


async def _prefix(request: Request) -> str:
    # The gateway sends `X-Forwarded-Prefix`; anything but plain path segments is
    # ignored, so a caller cannot put its own text into the links we answer with.
    prefix = request.headers.get("x-forwarded-prefix", "").rstrip("/")
    return prefix if SAFE_PREFIX.match(prefix) else ""


Users = Annotated[UserService, Depends(_users)]
# The verified caller; None when identity is not enforced (users run on its own).
Caller = Annotated[Identity | None, Depends(require_caller)]
# Raises Forbidden unless the caller may change the user it is given (users.service).
Authorizer = Annotated[Authorize, Depends(_authorize)]
# Path prefix the edge mounted us under ("" when called directly).
Prefix = Annotated[str, Depends(_prefix)]
