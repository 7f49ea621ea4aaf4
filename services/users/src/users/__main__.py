"""`python -m users` serves the API (USERS_HOST, USERS_PORT; default 127.0.0.1:8004)."""

from observability import run_service
from users.settings import Settings

run_service("users.app:create_app", Settings())
