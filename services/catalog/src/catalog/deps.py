"""Typed dependencies of the local adapter's routes: the app's one `Catalog`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from catalog.handler import Catalog


def _catalog(request: Request) -> Catalog:
    return request.app.state.catalog


CatalogDep = Annotated[Catalog, Depends(_catalog)]
