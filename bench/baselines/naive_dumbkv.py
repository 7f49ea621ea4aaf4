"""Baseline for bench/dumbkv_load.py: the original DumbKV, as it was built.

Faithful to the original's design, defects included, because that is what dumbkv
replaces: FastAPI `async def` handlers that call **one** `sqlite3` connection (default
rollback journal, default `synchronous`) or **one** synchronous `psycopg` connection
directly on the event loop; the stored key column is
`urlsafe_b64encode(sha256(key).hexdigest()[:32])`, which is also the Fernet key of the
value (a database dump decrypts everything); a `logger.info` per call; no middleware
but the Prometheus instrumentator. A write of an existing key fails (plain INSERT), as
the original did. Only the table creation is added: the original never created it.
Not for use: a baseline.

    NAIVE_TYPE=sqlite|postgres NAIVE_LOCATION=<file or postgresql:// URL>
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import sqlite3
from typing import Any

import psycopg
from cryptography.fernet import Fernet
from fastapi import FastAPI, HTTPException
from prometheus_fastapi_instrumentator import Instrumentator
from pydantic import BaseModel

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger("dumbkv")

TABLE = (
    "CREATE TABLE IF NOT EXISTS kv"
    " (database int, key text, value text, PRIMARY KEY (database, key))"
)


class Body(BaseModel):
    database: int = 0
    key: str
    value: str | None = None


def key_for(key: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).hexdigest()[:32].encode())


def make_app() -> FastAPI:
    app = FastAPI()
    Instrumentator().instrument(app).expose(app)
    kind, location = os.environ["NAIVE_TYPE"], os.environ["NAIVE_LOCATION"]
    if kind == "sqlite":
        db: Any = sqlite3.connect(location, check_same_thread=False)
        marker = "?"
    else:
        db = psycopg.connect(location)
        marker = "%s"
    db.execute(TABLE)
    db.commit()

    @app.post("/kv")
    async def read(body: Body) -> dict:
        logger.info("get %s from %s", body.key, body.database)
        stored = key_for(body.key)
        query = f"SELECT value FROM kv WHERE database={marker} AND key={marker}"
        row = db.execute(query, (body.database, stored.decode())).fetchone()
        if row is None:
            raise HTTPException(404)
        return {"value": Fernet(stored).decrypt(row[0].encode()).decode()}

    @app.put("/kv")
    async def write(body: Body) -> dict:
        logger.info("set %s in %s", body.key, body.database)
        stored = key_for(body.key)
        token = Fernet(stored).encrypt((body.value or "").encode()).decode()
        query = f"INSERT INTO kv VALUES ({marker}, {marker}, {marker})"
        db.execute(query, (body.database, stored.decode(), token))
        db.commit()
        return {"status": "success"}

    return app


if __name__ == "__main__":
    # Served as uvicorn would serve `main:app`, on the socket the benchmark bound.
    import socket

    import uvicorn

    listen = socket.socket(fileno=int(os.environ["SERVER_LISTEN_FD"]))
    uvicorn.Server(uvicorn.Config(make_app(), access_log=False)).run(sockets=[listen])
