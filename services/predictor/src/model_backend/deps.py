"""Typed dependencies of the routes: the app's one `MockModels`.

`async` though it never awaits: FastAPI runs a plain `def` dependency in its thread
pool, a hop to a worker thread and back on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from model_backend.mock import MockModels


async def _models(request: Request) -> MockModels:
    return request.app.state.models


Models = Annotated[MockModels, Depends(_models)]
