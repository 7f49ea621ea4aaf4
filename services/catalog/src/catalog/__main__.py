"""`python -m catalog`: serve the local adapter (app.py) on CATALOG_HOST:CATALOG_PORT."""

from catalog.settings import Settings
from observability import run_service

run_service("catalog.app:create_app", Settings.from_env())
