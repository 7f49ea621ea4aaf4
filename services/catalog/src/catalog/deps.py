"""Typed dependencies of the local adapter's routes: the app's one `Catalog`.

`async` though it never awaits: FastAPI runs a plain `def` dependency in its thread
pool, a hop to a worker thread and back on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from catalog.handler import Catalog


async def _catalog(request: Request) -> Catalog:
    return request.app.state.catalog


CatalogDep = Annotated[Catalog, Depends(_catalog)]
