"""`python -m gateway`: serve the gateway on GATEWAY_HOST:GATEWAY_PORT."""

from gateway.settings import Settings
from observability import run_service

settings = Settings()
# The edge: heads bounded in bytes and time here, for every service behind it.
run_service("gateway.app:create_app", settings, limits=settings.server_limits)
