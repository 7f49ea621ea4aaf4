"""`python -m model_backend`: serve the mock model server on BACKEND_HOST:BACKEND_PORT."""

from model_backend.settings import Settings
from observability import ServerLimits, serve

settings = Settings()
serve(
    "model_backend.app:create_app",
    factory=True,
    host=settings.host,
    port=settings.port,
    limits=ServerLimits.internal(),
)
