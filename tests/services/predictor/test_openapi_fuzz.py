"""schemathesis against the predictor's own OpenAPI: no 5xx for any generated request."""

from __future__ import annotations

from tests.services.predictor.conftest import Platform
from tests.support import run_schemathesis


def test_predictor_openapi_fuzzing_finds_no_server_error(fast_platform: Platform) -> None:
    run_schemathesis(fast_platform.predictor.url)
