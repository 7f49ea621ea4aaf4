"""Postgres stops under load and comes back: dumbkv recovers without a restart, /health
tells the truth meanwhile, and no acknowledged write is lost."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest

from tests.fixtures.dumbkv import start_dumbkv
from tests.fixtures.polling import wait_until
from tools.procs import free_port

pytestmark = pytest.mark.docker


def _postgres_container(port: int):
    from testcontainers.community.postgres import PostgresContainer

    image = os.environ.get("TEST_POSTGRES_IMAGE", "postgres:16-alpine")
    container = PostgresContainer(image, username="kv", password="kv-test", dbname="kv")
    # A fixed host port, so the service's URL stays valid across a container restart.
    return container.with_bind_ports(5432, port)


async def test_service_recovers_from_a_postgres_outage_without_losing_acknowledged_writes(
    postgres: object,  # the session's Docker checks; this test runs its own container
) -> None:
    port = free_port()
    container = _postgres_container(port)
    container.start()
    url, process = start_dumbkv(
        {
            "DATABASE_TYPE": "postgres",
            "DATABASE_LOCATION": f"postgresql://kv:kv-test@127.0.0.1:{port}/kv",
        }
    )
    acknowledged: dict[str, str] = {}
    outage_answers: set[int] = set()
    try:
        async with httpx.AsyncClient(base_url=url, timeout=15) as client:

            async def write(tag: str) -> int:
                key = f"{tag}-{uuid.uuid4().hex}"
                response = await client.put("/kv", json={"key": key, "value": f"v-{key}"})
                if response.status_code == 200:
                    acknowledged[key] = f"v-{key}"
                return response.status_code

            for _ in range(20):
                assert await write("before") == 200

            container.get_wrapped_container().stop(timeout=5)
            for _ in range(5):
                outage_answers.add(await write("during"))
            health_during = (await client.get("/health")).status_code
            kv_during = await client.post("/kv", json={"key": "anything"})

            container.get_wrapped_container().start()

            async def healthy() -> bool:
                try:
                    return (await client.get("/health")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(healthy, within=60, interval=0.2)
            for _ in range(20):
                assert await write("after") == 200

            lost = [
                k for k, v in acknowledged.items()
                if (await client.post("/kv", json={"key": k})).json().get("value") != v
            ]  # fmt: skip
    finally:
        process.stop()
        container.stop()

    assert outage_answers == {503}
    assert health_during == 503
    assert kv_during.status_code == 503
    assert kv_during.headers["content-type"] == "application/problem+json"
    assert lost == []
    assert len(acknowledged) == 40
