"""`python -m predictor`: serve the batching API on PREDICTOR_HOST:PREDICTOR_PORT."""

from observability import ServerLimits, serve
from predictor.settings import Settings

settings = Settings()
serve(
    "predictor.app:create_app",
    factory=True,
    host=settings.host,
    port=settings.port,
    shutdown_grace_s=settings.shutdown_grace_s,
    limits=ServerLimits.internal(),
)
