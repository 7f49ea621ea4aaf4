"""Storage: `Store.open` gives Postgres (SQLAlchemy 2 async, asyncpg) or SQLite
(`dumbkv.sqlite_store`: reads on the loop, group-committed writes), one interface.

Every operation is one statement in its own transaction, rolled back on any error, so
one failed statement can never poison later requests (the original's "current
transaction is aborted" until restart). Insert-if-absent, overwrite and
compare-and-set are single statements that behave the same on both databases.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).with_name("migrations")
metadata = sa.MetaData()
kv = sa.Table(
    "kv",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("value", sa.LargeBinary(), nullable=False),
    sa.Column("version", sa.BigInteger(), nullable=False),
    sa.Column("expires_at", sa.Float(), nullable=True),
    sa.Column("updated_at", sa.Float(), nullable=False),
)
# The version column is a signed 64-bit BIGINT on both databases.
MAX_VERSION = 2**63 - 1
_MIGRATION_LOCK_ID = 0x6B76  # "kv": serialises migrations of replicas starting together


class StoreUnavailable(Exception):
    """The database did not answer (down, unreachable, locked)."""


class Conflict(Exception):
    """The key exists (insert) or its version moved on (compare-and-set)."""


class NotFound(Exception):
    """No live value under that id."""


class StoreLocked(Exception):
    """Another dumbkv process holds the SQLite file (SQLite mode is single-writer)."""


@dataclass(frozen=True)
class Row:
    value: bytes
    version: int


def database_url(database_type: str, location: str) -> str:
    if database_type == "sqlite":
        return f"sqlite+aiosqlite:///{Path(location).expanduser()}"
    if location.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + location.split("://", 1)[1]
    return location


# Every use of a connection is `engine.begin()`, which ends its transaction (commit or
# rollback) before the connection goes back: the pool's own rollback-on-return would be
# a second round trip per operation. No pre-ping either: a connection broken by a
# database restart fails its statement, SQLAlchemy invalidates the pool on that
# disconnect error, and the caller gets 503 + Retry-After (as during the outage itself).
_NO_RESET: dict[str, Any] = {"pool_reset_on_return": None}


class KVStore(Protocol):
    """What the domain needs of a store; `Store.open` gives one for either database."""

    dialect: str

    async def close(self) -> None: ...
    async def migrate(self) -> None: ...
    async def ping(self) -> None: ...
    async def get(self, row_id: str) -> Row: ...
    async def insert(self, row_id: str, value: bytes, *, ttl_s: float | None) -> int: ...
    async def put(self, row_id: str, value: bytes, *, ttl_s: float | None) -> int: ...
    async def compare_and_set(
        self, row_id: str, value: bytes, *, expected_version: int, ttl_s: float | None
    ) -> int: ...
    async def delete(self, row_id: str) -> None: ...


class Store:
    """Rows by id on Postgres, through a pool of `pool_size` connections and no overflow:
    a connection opened per burst and closed after it is set-up work on every request
    (the pool waits up to 5 s for a free one instead, then 503)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def open(cls, database_type: str, location: str, *, pool_size: int = 20) -> KVStore:
        if database_type == "sqlite":
            from dumbkv.sqlite_store import SqliteStore  # it builds on this module

            path = Path(location).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            return SqliteStore(path, lock_file=_lock_single_writer(path))
        engine = create_async_engine(
            database_url(database_type, location),
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=5,
            **_NO_RESET,
            connect_args={"timeout": 5, "command_timeout": 10},
        )
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def migrate(self) -> None:
        """Apply every Alembic migration not yet applied (idempotent)."""
        async with self._begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})"))
            await conn.run_sync(_upgrade_to_head)

    async def ping(self) -> None:
        async with self._begin() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def get(self, row_id: str) -> Row:
        async with _Transaction(self.engine) as conn:
            found = (
                await conn.execute(
                    sa.select(kv.c.value, kv.c.version, kv.c.expires_at).where(kv.c.id == row_id)
                )
            ).first()
        if found is None or _expired(found.expires_at):
            raise NotFound(row_id)
        return Row(bytes(found.value), int(found.version))

    async def insert(self, row_id: str, value: bytes, *, ttl_s: float | None) -> int:
        """Store a new value; `Conflict` if a live one exists (an expired one is replaced)."""
        now = time.time()
        values = {
            "id": row_id,
            "value": value,
            "version": 1,
            "expires_at": _expiry(ttl_s, now),
            "updated_at": now,
        }
        statement = (
            self._insert(values)
            .on_conflict_do_update(
                index_elements=[kv.c.id],
                set_={
                    "value": value,
                    "version": kv.c.version + 1,
                    "expires_at": values["expires_at"],
                    "updated_at": now,
                },
                where=sa.and_(kv.c.expires_at.is_not(None), kv.c.expires_at <= now),
            )
            .returning(kv.c.version)
        )
        async with self._begin() as conn:
            version = (await conn.execute(statement)).scalar_one_or_none()
        if version is None:
            raise Conflict(row_id)
        return int(version)

    async def put(self, row_id: str, value: bytes, *, ttl_s: float | None) -> int:
        """Store a value whether or not one exists (overwrite)."""
        now = time.time()
        values = {
            "id": row_id,
            "value": value,
            "version": 1,
            "expires_at": _expiry(ttl_s, now),
            "updated_at": now,
        }
        statement = (
            self._insert(values)
            .on_conflict_do_update(
                index_elements=[kv.c.id],
                set_={
                    "value": value,
                    "version": kv.c.version + 1,
                    "expires_at": values["expires_at"],
                    "updated_at": now,
                },
            )
            .returning(kv.c.version)
        )
        async with self._begin() as conn:
            return int((await conn.execute(statement)).scalar_one())

    async def compare_and_set(
        self, row_id: str, value: bytes, *, expected_version: int, ttl_s: float | None
    ) -> int:
        """Replace the value only if its version is still `expected_version`."""
        now = time.time()
        statement = (
            sa.update(kv)
            .where(kv.c.id == row_id, kv.c.version == expected_version)
            .where(sa.or_(kv.c.expires_at.is_(None), kv.c.expires_at > now))
            .values(
                value=value,
                version=kv.c.version + 1,
                expires_at=_expiry(ttl_s, now),
                updated_at=now,
            )
            .returning(kv.c.version)
        )
        async with self._begin() as conn:
            version = (await conn.execute(statement)).scalar_one_or_none()
        if version is None:
            raise Conflict(row_id)
        return int(version)

    async def delete(self, row_id: str) -> None:
        async with self._begin() as conn:
            await conn.execute(sa.delete(kv).where(kv.c.id == row_id))

    def _insert(self, values: dict[str, Any]) -> Any:
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(kv).values(**values)

    def _begin(self) -> _Transaction:
        return _Transaction(self.engine)


_UNAVAILABLE = (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError, TimeoutError)


class _Transaction:
    """`engine.begin()` that turns driver and connection failures into StoreUnavailable."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._context = engine.begin()

    async def __aenter__(self) -> AsyncConnection:
        try:
            return await self._context.__aenter__()
        except _UNAVAILABLE as error:
            raise StoreUnavailable(str(error)) from error

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            await self._context.__aexit__(*exc_info)
        except _UNAVAILABLE as error:
            raise StoreUnavailable(str(error)) from error
        error = exc_info[1]
        if isinstance(error, _UNAVAILABLE):
            raise StoreUnavailable(str(error)) from error


def _expiry(ttl_s: float | None, now: float) -> float | None:
    return None if ttl_s is None else now + ttl_s


def _expired(expires_at: float | None) -> bool:
    return expires_at is not None and expires_at <= time.time()


def _lock_single_writer(path: Path) -> Any:
    lock_path = path.with_name(path.name + ".lock")
    handle = lock_path.open("a")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
        handle.close()
        raise StoreLocked(
            f"{path} is in use by another dumbkv process (SQLite mode is single-writer: "
            "run one replica, or use DATABASE_TYPE=postgres to scale out)"
        ) from error
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def migrate_sqlite(path: Path) -> None:
    """Apply the Alembic migrations to a SQLite file (blocking: run it off the loop)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            _upgrade_to_head(connection)
    finally:
        engine.dispose()


def _upgrade_to_head(connection: sa.Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)

    def upgrade(revision: Any, _context: Any) -> Any:
        return script._upgrade_revs("head", revision)

    with EnvironmentContext(config, script, fn=upgrade, destination_rev="head") as environment:
        environment.configure(connection=connection, target_metadata=metadata)
        with environment.begin_transaction():
            environment.run_migrations()
