"""dumbkv's probes answer without an identity, as the original's did, while its data
routes need the gateway's signature."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.dumbkv import start_dumbkv

SECRET = "dumbkv-identity-test-secret-0123456789"  # pragma: allowlist secret


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("identity") / "dumbkv.db"
    url, process = start_dumbkv(
        {
            "DATABASE_TYPE": "sqlite",
            "DATABASE_LOCATION": str(db),
            "PLATFORM_IDENTITY_SECRET": SECRET,
        }
    )
    try:
        yield url
    finally:
        process.stop()


def test_health_answers_without_an_identity(guarded: str) -> None:
    response = httpx.get(f"{guarded}/health")

    assert (response.status_code, response.json()) == (200, {"status": "healthy"})


@pytest.mark.parametrize("probe", ["/livez", "/readyz", "/"])
def test_probes_and_the_page_answer_without_an_identity(guarded: str, probe: str) -> None:
    assert httpx.get(f"{guarded}{probe}").status_code == 200


def test_data_routes_still_need_the_gateways_signature(guarded: str) -> None:
    response = httpx.post(f"{guarded}/kv", json={"key": "k"})

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
