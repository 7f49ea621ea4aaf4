"""A database that cannot answer is a 503 to retry; a bug in how it is used is a 500."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tests.fixtures.dumbkv import KV, fresh_database, start_dumbkv
from tests.fixtures.postgres import PostgresInstance

pytestmark = pytest.mark.docker


async def _rename_table(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("ALTER TABLE kv RENAME TO kv_moved_away")
    finally:
        await connection.close()


def test_a_schema_the_statements_do_not_fit_is_a_500_not_an_outage(
    postgres: PostgresInstance,
) -> None:
    url = fresh_database(postgres)
    base, process = start_dumbkv({"DATABASE_TYPE": "postgres", "DATABASE_LOCATION": url})
    try:
        kv = KV(base, "postgres", process)
        key = f"k-{uuid.uuid4().hex}"
        assert kv.put(key, "v").status_code == 200
        asyncio.run(_rename_table(url))

        response = kv.get(key)
    finally:
        process.stop()

    # As a 503 + Retry-After it would read as an outage, and the gateway would retry it.
    assert response.status_code == 500, response.text
    assert "retry-after" not in response.headers
    assert response.headers["content-type"] == "application/problem+json"
