"""Migrations through Alembic's public `command.upgrade` (migrations/env.py), on SQLite
and a real Postgres; only a database that cannot answer is `StoreUnavailable`."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sa_exc

from dumbkv.store import MIGRATIONS, Store, StoreUnavailable
from tests.fixtures.dumbkv import fresh_database
from tests.fixtures.postgres import PostgresInstance
from tools.procs import free_port

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


async def _migrate(database_type: str, location: str, *, times: int = 1) -> None:
    store = Store.open(database_type, location)
    try:
        for _ in range(times):
            await store.migrate()
    finally:
        await store.close()


async def _postgres(url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetch(sql)
    finally:
        await connection.close()


def test_sqlite_migrates_to_head_and_again_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"

    asyncio.run(_migrate("sqlite", str(path), times=2))

    with sqlite3.connect(path) as connection:
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        indexes = {row[1] for row in connection.execute("PRAGMA index_list('kv')")}
    assert versions == [(HEAD,)]
    assert "ix_kv_expires_at" in indexes


@pytest.mark.docker
def test_postgres_migrates_to_head_and_again_is_a_no_op(postgres: PostgresInstance) -> None:
    url = fresh_database(postgres)

    asyncio.run(_migrate("postgres", url, times=2))

    rows = asyncio.run(_postgres(url, "SELECT version_num FROM alembic_version"))
    assert [row["version_num"] for row in rows] == [HEAD]


@pytest.mark.docker
def test_a_migration_the_schema_refuses_is_raised_not_called_unavailable(
    postgres: PostgresInstance,
) -> None:
    url = fresh_database(postgres)
    # A kv table Alembic does not know of: its CREATE TABLE fails (a bug to fix, not an
    # outage to retry).
    asyncio.run(_postgres(url, "CREATE TABLE kv (id text PRIMARY KEY)"))

    with pytest.raises(sa_exc.DBAPIError) as raised:
        asyncio.run(_migrate("postgres", url))

    assert not isinstance(raised.value, StoreUnavailable)
    assert "already exists" in str(raised.value)


def test_a_postgres_nobody_answers_on_is_unavailable() -> None:
    url = f"postgresql://dumbkv:secret@127.0.0.1:{free_port()}/dumbkv"  # pragma: allowlist secret

    with pytest.raises(StoreUnavailable):
        asyncio.run(_migrate("postgres", url))
