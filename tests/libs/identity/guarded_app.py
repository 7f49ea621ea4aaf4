"""A service built with `create_app` and the platform's identity check, for real uvicorn.

Secrets come from the environment (`PLATFORM_IDENTITY_SECRET`, `..._PREVIOUS`), as in
every service; bodies are capped at 64 bytes to show an outer limit still answers 413.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from identity import caller, secrets_from_env
from observability import create_app
from observability.edge import BodyLimits


def make_app() -> FastAPI:
    app = create_app(
        "guarded",
        identity_secrets=[secret.decode() for secret in secrets_from_env()],
        body_limits=BodyLimits(max_bytes=64),
    )

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, str]:
        who = caller(request)
        return {"subject": who.subject if who else "", "body": (await request.body()).decode()}

    @app.get("/items/{item_id}")
    async def item(item_id: str, request: Request) -> dict[str, str]:
        who = caller(request)
        return {"item_id": item_id, "subject": who.subject if who else ""}

    return app
