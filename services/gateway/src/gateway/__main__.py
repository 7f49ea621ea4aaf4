"""`python -m gateway`: serve the gateway on GATEWAY_HOST:GATEWAY_PORT."""

from gateway.settings import Settings
from observability import serve

settings = Settings()
serve(
    "gateway.app:create_app",
    factory=True,
    host=settings.host,
    port=settings.port,
    limits=settings.server_limits,
)
