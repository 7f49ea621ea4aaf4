"""`python -m remote`: serve the unreliable upstream on REMOTE_HOST:REMOTE_PORT."""

from observability import ServerLimits, serve
from remote.settings import Settings

settings = Settings()
serve(
    "remote.app:create_app",
    factory=True,
    host=settings.host,
    port=settings.port,
    limits=ServerLimits.internal(),
)
