"""dumbkv as a real uvicorn process, on SQLite and on a real Postgres (Testcontainers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.dumbkv import KV, fresh_database, start_dumbkv
from tests.fixtures.postgres import PostgresInstance


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def kv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KV]:
    if request.param == "sqlite":
        db_path = tmp_path_factory.mktemp("dumbkv") / "dumbkvstore" / "dumbkv.db"
        env = {"DATABASE_TYPE": "sqlite", "DATABASE_LOCATION": str(db_path)}
    else:
        postgres: PostgresInstance = request.getfixturevalue("postgres")
        db_path = None
        env = {"DATABASE_TYPE": "postgres", "DATABASE_LOCATION": fresh_database(postgres)}
    url, process = start_dumbkv(env)
    try:
        yield KV(url, request.param, process, db_path)
    finally:
        process.stop()
