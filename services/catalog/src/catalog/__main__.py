"""`python -m catalog`: serve the local adapter (app.py) on CATALOG_HOST:CATALOG_PORT."""

from catalog.settings import Settings
from observability import ServerLimits, serve

settings = Settings.from_env()
serve(
    "catalog.app:create_app",
    factory=True,
    host=settings.host,
    port=settings.port,
    limits=ServerLimits.internal(),
)
