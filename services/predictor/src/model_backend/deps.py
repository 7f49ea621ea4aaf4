"""Typed dependencies of the routes: the app's one `MockModels`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from model_backend.mock import MockModels


def _models(request: Request) -> MockModels:
    return request.app.state.models


Models = Annotated[MockModels, Depends(_models)]
