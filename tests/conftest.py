"""Session fixtures for real components shared by every test area.

- `postgres_url`: a real Postgres from Testcontainers (image from TEST_POSTGRES_IMAGE,
  prepared by scripts/test-infra.sh). With REQUIRE_DOCKER=1 (set by .ci/run and
  `make test`) a missing Docker engine is a failure, never a skip.
- `moto_endpoint`: moto's server mode as a real local AWS endpoint (DynamoDB, S3).

Service-specific fixtures live in tests/<area>/conftest.py; the helpers and types they
share with tests live in tests/fixtures/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.fixtures.infra_env import load_test_infra_env
from tests.fixtures.moto import MotoEndpoint
from tests.fixtures.postgres import PostgresInstance
from tools import localaws

load_test_infra_env()


def _docker_required() -> bool:
    return os.environ.get("REQUIRE_DOCKER", "") == "1"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresInstance]:
    """One real Postgres for the whole session (tests isolate by schema or table names)."""
    try:
        from testcontainers.community.postgres import PostgresContainer
        from testcontainers.core.docker_client import DockerClient

        DockerClient().client.ping()
    except Exception as error:  # the engine is absent or unreachable
        if _docker_required():
            pytest.fail(f"Docker is required (REQUIRE_DOCKER=1) but unavailable: {error}")
        pytest.skip(f"Docker unavailable: {error}")

    image = os.environ.get("TEST_POSTGRES_IMAGE", "postgres:16-alpine")
    container = PostgresContainer(
        image, username="platform", password="platform-test", dbname="platform"
    )
    container.start()
    try:
        yield PostgresInstance(
            container=container,
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(5432)),
            user="platform",
            password="platform-test",
            database="platform",
        )
    finally:
        container.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres: PostgresInstance) -> str:
    """SQLAlchemy async URL (asyncpg driver) of the session's real Postgres."""
    return postgres.url("asyncpg")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[MotoEndpoint]:
    """A moto server for the session; tests create uniquely named tables and buckets."""
    process = localaws.start_moto()
    try:
        yield MotoEndpoint(url=localaws.endpoint_url(process), process=process)
    finally:
        process.stop()


@pytest.fixture
def aws_env(moto_endpoint: MotoEndpoint, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point this test's boto clients at the session's moto server."""
    env = moto_endpoint.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
