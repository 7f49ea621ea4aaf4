"""Baseline for bench/dumbkv_load.py: the original DumbKV's design in a few lines.

One shared connection (no pool), the key's SHA-256 stored as the row id and also used
as the Fernet key (so a database dump decrypts everything). Not for use: a baseline.
"""

import asyncio
import base64
import hashlib
import os
import sqlite3

import asyncpg
from cryptography.fernet import Fernet
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

SQLITE_TABLE = (
    "CREATE TABLE IF NOT EXISTS naive_kv (db int, id text, value blob, PRIMARY KEY (db, id))"
)
PG_TABLE = (
    "CREATE TABLE IF NOT EXISTS naive_kv (db int, id text, value bytea, PRIMARY KEY (db, id))"
)
PG_UPSERT = "INSERT INTO naive_kv VALUES ($1, $2, $3) ON CONFLICT (db, id) DO UPDATE SET value = $3"


class Body(BaseModel):
    database: int = 0
    key: str
    value: str | None = None


def fernet_for(key: str) -> tuple[str, Fernet]:
    digest = hashlib.sha256(key.encode()).digest()
    return digest.hex(), Fernet(base64.urlsafe_b64encode(digest))


def make_app() -> FastAPI:
    app = FastAPI()
    kind, location = os.environ["NAIVE_TYPE"], os.environ["NAIVE_LOCATION"]
    state: dict = {}
    one_connection = asyncio.Lock()  # a single shared connection serves one query at a time

    @app.on_event("startup")
    async def start() -> None:
        if kind == "sqlite":
            state["db"] = sqlite3.connect(location, check_same_thread=False)
            state["db"].execute(SQLITE_TABLE)
        else:
            state["db"] = await asyncpg.connect(location)
            await state["db"].execute(PG_TABLE)

    @app.post("/kv")
    async def read(body: Body) -> dict:
        row_id, fernet = fernet_for(body.key)
        if kind == "sqlite":
            query = "SELECT value FROM naive_kv WHERE db=? AND id=?"
            row = state["db"].execute(query, (body.database, row_id)).fetchone()
        else:
            query = "SELECT value FROM naive_kv WHERE db=$1 AND id=$2"
            async with one_connection:
                row = await state["db"].fetchrow(query, body.database, row_id)
        if row is None:
            raise HTTPException(404)
        return {"value": fernet.decrypt(bytes(row[0])).decode()}

    @app.put("/kv")
    async def write(body: Body) -> dict:
        row_id, fernet = fernet_for(body.key)
        token = fernet.encrypt((body.value or "").encode())
        if kind == "sqlite":
            query = "INSERT OR REPLACE INTO naive_kv VALUES (?, ?, ?)"
            state["db"].execute(query, (body.database, row_id, token))
            state["db"].commit()
        else:
            async with one_connection:
                await state["db"].execute(PG_UPSERT, body.database, row_id, token)
        return {"status": "success"}

    return app
