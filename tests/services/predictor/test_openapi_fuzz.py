"""schemathesis against the predictor's own OpenAPI: no 5xx for any generated request."""

from __future__ import annotations

from tests.fixtures.fuzz import run_schemathesis
from tests.fixtures.predictor import FAST_BACKEND, PredictorWithBackend, start_backend


def test_predictor_openapi_fuzzing_finds_no_server_error(
    fast_platform: PredictorWithBackend,
) -> None:
    run_schemathesis(fast_platform.predictor.url)


def test_backend_openapi_fuzzing_finds_no_server_error() -> None:
    # Its own process: the fuzzer may reach its control routes (pause) too.
    backend = start_backend(**FAST_BACKEND)
    try:
        run_schemathesis(backend.url)
    finally:
        backend.stop()
