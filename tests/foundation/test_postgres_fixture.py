"""The shared Testcontainers fixture yields a real, writable Postgres."""

from __future__ import annotations

import asyncpg

from tests.fixtures.postgres import PostgresInstance


async def test_real_postgres_round_trips_a_row(postgres: PostgresInstance) -> None:
    connection = await asyncpg.connect(postgres.url(driver=None))
    try:
        await connection.execute("CREATE TABLE foundation_probe (id int PRIMARY KEY, note text)")
        await connection.execute("INSERT INTO foundation_probe VALUES ($1, $2)", 1, "written")
        note = await connection.fetchval("SELECT note FROM foundation_probe WHERE id = $1", 1)
        server_version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.execute("DROP TABLE IF EXISTS foundation_probe")
        await connection.close()

    assert note == "written"
    assert server_version  # a real server answered, not a stub


async def test_postgres_is_reached_only_on_loopback(postgres: PostgresInstance) -> None:
    assert postgres.host == "127.0.0.1"
