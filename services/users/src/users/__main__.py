"""`python -m users` serves the API (USERS_HOST, USERS_PORT; port default in users/contract.py)."""

from observability import run_service
from users.settings import Settings

run_service("users.app:create_app", Settings())
