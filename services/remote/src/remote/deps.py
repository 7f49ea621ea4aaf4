"""Typed dependencies of the remote's routes: its fault model, its settings and the lock
that serializes `/invoke` (None when the replica serves calls side by side).

The only place that reads `app.state`; routes declare what they need. `async` so
FastAPI does not run each lookup in its thread pool.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request

from remote.faults import FaultModel
from remote.settings import Settings


async def _faults(request: Request) -> FaultModel:
    return request.app.state.faults


async def _settings(request: Request) -> Settings:
    return request.app.state.settings  # the Settings create_app was given


async def _serial(request: Request) -> asyncio.Lock | None:
    return request.app.state.serial


Faults = Annotated[FaultModel, Depends(_faults)]
RemoteSettings = Annotated[Settings, Depends(_settings)]
Serial = Annotated[asyncio.Lock | None, Depends(_serial)]
