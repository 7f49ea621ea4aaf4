"""The local adapter as a real uvicorn process: handler, health, OpenAPI fuzzing."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from identity import Identity
from identity.client import SignedCaller
from tests.fixtures.catalog import create_seeded_table
from tests.fixtures.fuzz import run_schemathesis
from tools.procs import LOOPBACK, ServerProcess, free_port

IDENTITY_SECRET = "catalog-test-identity-secret-0123456789"  # pragma: allowlist secret


def _serve(moto_endpoint: Any, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    table_name = create_seeded_table(moto_endpoint.url)
    process = ServerProcess(
        "catalog",
        [sys.executable, "-m", "catalog"],
        env={**env, "TABLE_NAME": table_name, "CATALOG_PORT": str(port)},
        ready_url=f"http://{LOOPBACK}:{port}/livez",
    )
    process.start().wait_ready()
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        process.stop()


@pytest.fixture
def local_url(moto_endpoint: Any, aws_env: dict[str, str]) -> Iterator[str]:
    yield from _serve(moto_endpoint, aws_env)


@pytest.fixture
def guarded_url(moto_endpoint: Any, aws_env: dict[str, str]) -> Iterator[str]:
    """The adapter with the platform's identity secret, as `make run` starts it."""
    yield from _serve(moto_endpoint, {**aws_env, "PLATFORM_IDENTITY_SECRET": IDENTITY_SECRET})


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_local_adapter_serves_the_handler(local_url: str) -> None:
    status, headers, body = get(f"{local_url}/llms/Gemini%201.5%20Pro")

    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["context_window"] == 1000000


def test_local_adapter_honours_if_none_match(local_url: str) -> None:
    _, headers, _ = get(f"{local_url}/llms?provider=OpenAI")

    status, _, body = get(f"{local_url}/llms?provider=OpenAI", {"If-None-Match": headers["etag"]})

    assert (status, body) == (304, b"")


def test_local_adapter_is_ready_when_the_catalog_can_be_read(local_url: str) -> None:
    assert get(f"{local_url}/readyz")[0] == 200


def test_local_adapter_serves_prometheus_metrics(local_url: str) -> None:
    status, headers, body = get(f"{local_url}/metrics")

    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert b"process_cpu_seconds_total" in body or b"python_info" in body


def test_schemathesis_finds_no_server_error(local_url: str) -> None:
    run_schemathesis(local_url, max_examples=30)


def test_with_a_secret_an_unsigned_direct_call_is_401(guarded_url: str) -> None:
    status, headers, body = get(f"{guarded_url}/llms")

    assert status == 401
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 401


def test_with_a_secret_a_call_signed_as_the_gateway_signs_is_served(guarded_url: str) -> None:
    auth = SignedCaller(IDENTITY_SECRET.encode(), Identity("anonymous"))

    response = httpx.get(f"{guarded_url}/llms/Gemini%201.5%20Pro", auth=auth)

    assert response.status_code == 200, response.text
    assert response.json()["context_window"] == 1000000


@pytest.mark.parametrize("probe", ["/livez", "/readyz", "/metrics", "/openapi.json"])
def test_with_a_secret_probes_answer_without_an_identity(guarded_url: str, probe: str) -> None:
    assert get(f"{guarded_url}{probe}")[0] == 200
