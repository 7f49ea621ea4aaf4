"""`python -m users` serves the API (USERS_HOST, USERS_PORT; default 127.0.0.1:8004)."""

from __future__ import annotations

from observability import ServerLimits, serve
from users.settings import Settings

settings = Settings()
serve(
    "users.app:create_app",
    factory=True,
    host=settings.host,
    port=settings.port,
    limits=ServerLimits.internal(),
)
