"""`python -m model_backend`: serve the mock model server on BACKEND_HOST:BACKEND_PORT."""

from model_backend.settings import Settings
from observability import run_service

run_service("model_backend.app:create_app", Settings())
