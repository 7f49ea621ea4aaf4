"""`python -m remote`: serve the unreliable upstream on REMOTE_HOST:REMOTE_PORT."""

from observability import run_service
from remote.settings import Settings

run_service("remote.app:create_app", Settings())
