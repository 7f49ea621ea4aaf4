"""The Postgres store's pool: one round trip per operation, nothing sent on release."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from dumbkv.store import SQL_GET, Store, postgres_dsn
from tests.fixtures.dumbkv import fresh_database
from tests.fixtures.postgres import PostgresInstance

pytestmark = pytest.mark.docker


async def _last_statements(url: str) -> list[str]:
    """The last statement each other backend on this database ran (pg_stat_activity)."""
    admin = await asyncpg.connect(url)
    try:
        rows = await admin.fetch(
            "SELECT query FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    return [row["query"] for row in rows]


async def _get_then_look(url: str) -> list[str]:
    store = Store(postgres_dsn(url), pool_size=1)  # one connection: it served the get
    try:
        await store.migrate()
        await store.put("row", b"value", ttl_s=None)
        assert (await store.get("row")).value == b"value"
        return await _last_statements(url)
    finally:
        await store.close()


def test_a_connection_goes_back_to_the_pool_without_a_reset_round_trip(
    postgres: PostgresInstance,
) -> None:
    # Before: asyncpg's default reset ran "SELECT pg_advisory_unlock_all(); CLOSE ALL;
    # UNLISTEN *; RESET ALL;" after every statement, a second round trip each time.
    last = asyncio.run(_get_then_look(fresh_database(postgres)))

    assert len(last) == 1, last
    assert "RESET ALL" not in last[0]
    assert last[0].startswith(SQL_GET.split(" WHERE ")[0]), last
