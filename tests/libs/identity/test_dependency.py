"""`require_caller` as a FastAPI dependency costs no thread hop."""

from __future__ import annotations

import fastapi.dependencies.utils as fastapi_dependencies
import httpx
import pytest
from fastapi import Depends, FastAPI

from identity import require_caller


async def test_require_caller_runs_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_thread_pool(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the dependency was sent to the thread pool")

    monkeypatch.setattr(fastapi_dependencies, "run_in_threadpool", no_thread_pool)
    app = FastAPI()

    @app.get("/", dependencies=[Depends(require_caller)])
    async def root() -> dict[str, str]:
        return {"ok": "yes"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.get("/")

    assert response.json() == {"ok": "yes"}
