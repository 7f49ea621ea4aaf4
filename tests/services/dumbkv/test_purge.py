"""Expired rows are purged in bounded batches (dumbkv.purge), on SQLite and a real
Postgres; live rows stay. Runs are called directly: no waiting on the interval."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from dumbkv.purge import purge_expired_rows, purging
from dumbkv.store import KVStore, Store, StoreUnavailable
from tests.fixtures.dumbkv import fresh_database
from tests.fixtures.polling import wait_until
from tests.fixtures.postgres import PostgresInstance


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.docker)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "kv.db")
    postgres: PostgresInstance = request.getfixturevalue("postgres")
    return "postgres", fresh_database(postgres)


def with_store(location: tuple[str, str], body: Callable[[KVStore], Awaitable[None]]) -> None:
    async def run() -> None:
        store = Store.open(*location)
        try:
            await store.migrate()
            await body(store)
        finally:
            await store.close()

    asyncio.run(run())


async def stored_ids(location: tuple[str, str]) -> set[str]:
    """Every id in the kv table, expired or not, read past the store."""
    database_type, where = location
    if database_type == "sqlite":
        with sqlite3.connect(where) as connection:
            return {row[0] for row in connection.execute("SELECT id FROM kv")}
    connection = await asyncpg.connect(where)
    try:
        return {row["id"] for row in await connection.fetch("SELECT id FROM kv")}
    finally:
        await connection.close()


def test_a_run_deletes_expired_rows_and_keeps_live_ones(location: tuple[str, str]) -> None:
    async def body(store: KVStore) -> None:
        for i in range(5):
            await store.put(f"expired-{i}", b"x", ttl_s=-60.0)
        await store.put("forever", b"x", ttl_s=None)
        await store.put("later", b"x", ttl_s=3600.0)

        purged = await purge_expired_rows(store, batch_size=2)

        assert purged == 5
        assert await stored_ids(location) == {"forever", "later"}

    with_store(location, body)


def test_one_statement_deletes_at_most_its_limit(location: tuple[str, str]) -> None:
    async def body(store: KVStore) -> None:
        for i in range(5):
            await store.put(f"expired-{i}", b"x", ttl_s=-60.0)

        first = await store.purge_expired(limit=2)
        rest = await store.purge_expired(limit=10)

        assert (first, rest) == (2, 3)

    with_store(location, body)


def test_a_run_stops_after_its_batch_budget(location: tuple[str, str]) -> None:
    async def body(store: KVStore) -> None:
        for i in range(5):
            await store.put(f"expired-{i}", b"x", ttl_s=-60.0)

        first_run = await purge_expired_rows(store, batch_size=1, max_batches=3)
        second_run = await purge_expired_rows(store, batch_size=1, max_batches=3)

        assert (first_run, second_run) == (3, 2)

    with_store(location, body)


class FailingOnceStore:
    """A store whose first purge raises `error`; later ones find nothing expired."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    async def purge_expired(self, *, limit: int) -> int:
        self.calls += 1
        if self.calls == 1:
            raise self.error
        return 0


@pytest.mark.parametrize(
    "error",
    [
        StoreUnavailable("database restarting"),  # an outage: the next run retries
        RuntimeError("a statement the schema does not fit"),  # a bug: logged, not fatal
    ],
    ids=["unavailable-database", "unexpected-error"],
)
async def test_the_background_purge_outlives_a_failed_run(error: Exception) -> None:
    store = FailingOnceStore(error)

    async with purging(store, interval_s=0.001, batch_size=10):  # type: ignore[arg-type]
        await wait_until(lambda: store.calls >= 2, within=5)

    assert store.calls >= 2
