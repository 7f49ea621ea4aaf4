"""`python -m predictor`: serve the batching API on PREDICTOR_HOST:PREDICTOR_PORT."""

from observability import run_service
from predictor.settings import Settings

run_service("predictor.app:create_app", Settings())
