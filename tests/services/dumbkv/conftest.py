"""dumbkv as a real uvicorn process, on SQLite and on a real Postgres (Testcontainers)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import PostgresInstance
from tools.procs import ServerProcess, start_module

PEPPER = "test-pepper-0123456789abcdef"


@dataclass
class KV:
    url: str
    backend: str
    process: ServerProcess
    db_path: Path | None = None

    def put(self, key: str, value: str | None, **extra: object) -> httpx.Response:
        headers = extra.pop("headers", None)
        params = extra.pop("params", None)
        return httpx.put(
            f"{self.url}/kv",
            json={"key": key, "value": value, **extra},
            headers=headers,  # type: ignore[arg-type]
            params=params,  # type: ignore[arg-type]
        )

    def get(self, key: str, **extra: object) -> httpx.Response:
        return httpx.post(f"{self.url}/kv", json={"key": key, **extra})

    def delete(self, key: str, **extra: object) -> httpx.Response:
        return httpx.request("DELETE", f"{self.url}/kv", json={"key": key, **extra})


def start_dumbkv(env: dict[str, str]) -> tuple[str, ServerProcess]:
    run_env = {"DUMBKV_PEPPER": PEPPER, **env}
    return start_module("dumbkv", "DUMBKV_PORT", env=run_env, ready_path="/livez", ready_timeout=60)


def fresh_database(postgres: PostgresInstance) -> str:
    """A new empty database on the session's Postgres; its asyncpg URL."""
    name = f"dumbkv_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        connection = await asyncpg.connect(postgres.url(driver=None))
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return postgres.url(driver=None).rsplit("/", 1)[0] + f"/{name}"


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
