"""Ceiling for bench/dumbkv_load.py: the least a request-at-a-time FastAPI key-value
service can do.

As issue 21 defines it: the same uvicorn, one `sqlite3` connection on the event loop in
WAL mode with `synchronous=FULL` (dumbkv's durability), a pydantic body, and nothing
else: no encryption, no identity, no telemetry, no logging. What a request costs here
is uvicorn's and FastAPI's own path plus one SQLite statement, the floor under dumbkv
and under the original alike. On Postgres the same app holds an asyncpg pool as large
as dumbkv's (20, opened full), each statement prepared by asyncpg and autocommitted:
the least a FastAPI service on that database pays per request, beside the database's
own work, on the same cores, when each request is its own statement (dumbkv shares one
statement among the requests waiting for a connection, and can pass it). Not for use:
a baseline.

    BARE_TYPE=sqlite|postgres (default sqlite) BARE_LOCATION=<sqlite file or postgresql:// URL>
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

TABLE = (
    "CREATE TABLE IF NOT EXISTS kv"
    " (database int, key text, value text, PRIMARY KEY (database, key))"
)
POOL_SIZE = 20  # dumbkv's default (dumbkv.settings: pool_size)


class Body(BaseModel):
    database: int = 0
    key: str
    value: str | None = None


def make_app() -> FastAPI:
    if os.environ.get("BARE_TYPE", "sqlite") == "postgres":
        return _postgres_app(os.environ["BARE_LOCATION"])
    app = FastAPI()
    # isolation_level=None: autocommit, each statement its own transaction.
    db = sqlite3.connect(os.environ["BARE_LOCATION"], check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(TABLE)

    @app.post("/kv")
    async def read(body: Body) -> dict[str, str]:
        query = "SELECT value FROM kv WHERE database = ? AND key = ?"
        row = db.execute(query, (body.database, body.key)).fetchone()
        if row is None:
            raise HTTPException(404)
        return {"value": row[0]}

    @app.put("/kv")
    async def write(body: Body) -> dict[str, str]:
        query = "INSERT OR REPLACE INTO kv VALUES (?, ?, ?)"
        db.execute(query, (body.database, body.key, body.value))
        return {"status": "success"}

    return app


def _postgres_app(dsn: str) -> FastAPI:
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
        await pool.execute(TABLE)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/kv")
    async def read(body: Body) -> dict[str, str]:
        assert pool is not None
        query = "SELECT value FROM kv WHERE database = $1 AND key = $2"
        value = await pool.fetchval(query, body.database, body.key)
        if value is None:
            raise HTTPException(404)
        return {"value": value}

    @app.put("/kv")
    async def write(body: Body) -> dict[str, str]:
        assert pool is not None
        query = (
            "INSERT INTO kv VALUES ($1, $2, $3)"
            " ON CONFLICT (database, key) DO UPDATE SET value = EXCLUDED.value"
        )
        await pool.execute(query, body.database, body.key, body.value)
        return {"status": "success"}

    return app


if __name__ == "__main__":
    # Served as the original is (bench.baselines.naive_dumbkv), on the bench's socket.
    import socket

    import uvicorn

    listen = socket.socket(fileno=int(os.environ["SERVER_LISTEN_FD"]))
    uvicorn.Server(uvicorn.Config(make_app(), access_log=False)).run(sockets=[listen])
