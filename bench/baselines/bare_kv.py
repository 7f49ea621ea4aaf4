"""Ceiling for bench/dumbkv_load.py: the least a FastAPI key-value service can do.

As issue 21 defines it: the same uvicorn, one `sqlite3` connection on the event loop in
WAL mode with `synchronous=FULL` (dumbkv's durability), a pydantic body, and nothing
else: no encryption, no identity, no telemetry, no logging. What a request costs here
is uvicorn's and FastAPI's own path plus one SQLite statement, the floor under dumbkv
and under the original alike. Not for use: a baseline.

    BARE_LOCATION=<sqlite file> (SQLite only: the ceiling is defined for it)
"""

from __future__ import annotations

import os
import sqlite3

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel


class Body(BaseModel):
    database: int = 0
    key: str
    value: str | None = None


def make_app() -> FastAPI:
    app = FastAPI()
    # isolation_level=None: autocommit, each statement its own transaction.
    db = sqlite3.connect(os.environ["BARE_LOCATION"], check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS kv"
        " (database int, key text, value text, PRIMARY KEY (database, key))"
    )

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


if __name__ == "__main__":
    # Served as the original is (bench.baselines.naive_dumbkv), on the bench's socket.
    import socket

    import uvicorn

    listen = socket.socket(fileno=int(os.environ["SERVER_LISTEN_FD"]))
    uvicorn.Server(uvicorn.Config(make_app(), access_log=False)).run(sockets=[listen])
