"""Storage: `Store.open` gives Postgres (asyncpg, a full pool, reads and writes waiting
for a connection coalesced) or SQLite (`dumbkv.sqlite_store`: reads on the loop,
group-committed writes), one interface.

Every statement is its own transaction, rolled back on any error, so one failed
statement can never poison later requests (the original's "current transaction is
aborted" until restart). Insert-if-absent, overwrite and
compare-and-set are single statements that behave the same on both databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import create_async_engine

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
    async def purge_expired(self, *, limit: int) -> int: ...


# One statement per operation, written once: `?` placeholders as SQLite takes them,
# numbered ($1, $2, ...) by `_numbered` where Postgres runs them (the get, insert and
# put it runs in their `_MANY_POSTGRES` forms below). Both answer RETURNING.
_INSERT_INTO = "INSERT INTO kv (id, value, version, expires_at, updated_at) "
_ON_CONFLICT = (
    "ON CONFLICT (id) DO UPDATE SET value = excluded.value, version = kv.version + 1, "
    "expires_at = excluded.expires_at, updated_at = excluded.updated_at"
)
# Insert if absent: an existing live row is a conflict (no row returned); an expired
# one is replaced.
_ONLY_OVER_EXPIRED = " WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= excluded.updated_at"
_UPSERT = _INSERT_INTO + "VALUES (?, ?, 1, ?, ?) "
SQL_GET = "SELECT value, version, expires_at FROM kv WHERE id = ?"
# Parameters of both: id, value, expires_at, now.
SQL_INSERT = _UPSERT + _ON_CONFLICT + _ONLY_OVER_EXPIRED + " RETURNING version"
SQL_PUT = _UPSERT + _ON_CONFLICT + " RETURNING version"
# Parameters: value, expires_at, now, id, expected version, now.
SQL_CAS = (
    "UPDATE kv SET value = ?, version = version + 1, expires_at = ?, updated_at = ? "
    "WHERE id = ? AND version = ? AND (expires_at IS NULL OR expires_at > ?) RETURNING version"
)
SQL_DELETE = "DELETE FROM kv WHERE id = ?"
# The same operations for many rows at once (Postgres, `Coalesced`): one array per
# column, in the order of the single statement's parameters; each answer row ends with
# the id it answers. Rows with no answer are absent (not found, or a conflict).
SQL_GET_MANY_POSTGRES = (
    "SELECT value, version, expires_at, id FROM kv WHERE id = ANY($1::varchar[])"
)
_UPSERT_MANY_POSTGRES = (
    _INSERT_INTO + "SELECT id, value, 1, expires_at, now "
    "FROM unnest($1::varchar[], $2::bytea[], $3::float8[], $4::float8[]) "
    "AS w(id, value, expires_at, now) "
)
SQL_INSERT_MANY_POSTGRES = (
    _UPSERT_MANY_POSTGRES + _ON_CONFLICT + _ONLY_OVER_EXPIRED + " RETURNING version, id"
)
SQL_PUT_MANY_POSTGRES = _UPSERT_MANY_POSTGRES + _ON_CONFLICT + " RETURNING version, id"
# Most operations one coalesced statement takes.
MAX_COALESCED = 128
# At most `limit` expired rows (found by ix_kv_expires_at). Parameters: now, limit.
# Postgres: SKIP LOCKED, so replicas purging at once take disjoint rows and a row a
# write holds (re-inserting an expired key) is left to it, neither ever waiting.
SQL_PURGE_POSTGRES = (
    "WITH gone AS (DELETE FROM kv WHERE ctid IN (SELECT ctid FROM kv WHERE expires_at <= ? "
    "LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING 1) SELECT count(*) FROM gone"
)
SQL_PURGE_SQLITE = (
    "DELETE FROM kv WHERE rowid IN (SELECT rowid FROM kv WHERE expires_at <= ? LIMIT ?)"
)


@functools.cache  # a handful of statements: numbered once each, not on every call
def _numbered(sql: str) -> str:
    parts = sql.split("?")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]


def expiry(ttl_s: float | None, now: float) -> float | None:
    return None if ttl_s is None else now + ttl_s


def live(found: Any) -> Row:
    """The row of a `SQL_GET` answer (value, version, expires_at); NotFound if absent
    or expired."""
    if found is None or (found[2] is not None and found[2] <= time.time()):
        raise NotFound()
    return Row(bytes(found[0]), int(found[1]))


def version_or_conflict(found: Any) -> int:
    """The version a write's RETURNING gave; Conflict when it matched no row."""
    if found is None:
        raise Conflict()
    return int(found[0])


def postgres_dsn(location: str) -> str:
    """A libpq URL for asyncpg (SQLAlchemy-style `postgresql+asyncpg://` accepted)."""
    scheme, _, rest = location.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else location


# The database did not answer, or cannot now: worth a retry, which the API says as
# 503 + Retry-After. Connection failures (SQLSTATE class 08), operator intervention
# (57: shutdown, restart, statement timeout), insufficient resources (53: too many
# connections, disk full), a rollback to retry (40: deadlock, serialization), a
# read-only database (a failover in progress), the client's own connection errors.
# Any other PostgresError (a missing table, a syntax error) is a bug, and a 500 says
# so: as a 503 it would look like an outage and the gateway would retry it.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot answer now (`_UNAVAILABLE`), looking
    through SQLAlchemy's wrapping (`DBAPIError.orig`, whose cause is asyncpg's error)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE):
            return True
        if isinstance(current, sa_exc.DBAPIError):
            if current.connection_invalidated:
                return True
            orig = current.orig
            pending.append(orig if isinstance(orig, BaseException) else None)
        pending.append(current.__cause__)
    return False


class Coalesced:
    """Operations of one kind waiting for the same connection, answered by one statement.

    An operation joins the open batch; the batch closes when it gets a pool connection,
    which is at the next turn of the loop when one is free and later when all are busy,
    so batches grow exactly when the database is the bottleneck. One statement over
    arrays (`SQL_*_MANY_POSTGRES`) then answers every operation of the batch: one round
    trip, one parse and executor start-up in Postgres and, for writes, one commit and
    WAL flush, instead of one each. Group commit, as the SQLite store does it: each
    write is acknowledged only after the statement holding it committed, and it is all
    or nothing, so durability is what it was with a statement per write. Every row is
    built by dumbkv from validated input, so a statement that fails is an outage or a
    bug, and every operation of the batch gets its error.

    Reads of one id share an answer (`share_ids`). Two writes of one id cannot share a
    statement (Postgres refuses to touch a row twice in one command), so a write whose
    id is already in the open batch runs alone; concurrent writes of one key have no
    order to keep. The DataLoader pattern; written here rather than taken from a
    DataLoader library because the batch must close on a pool connection, not on a
    timer or a tick, and an operation that is cancelled (a client gone, a deadline)
    must leave the others of its batch their answers.
    """

    def __init__(
        self, acquire: Any, statement: str, *, share_ids: bool, max_batch: int = MAX_COALESCED
    ) -> None:
        self._acquire = acquire  # () -> an async context manager giving a connection
        self._statement = statement
        self._share_ids = share_ids
        self._max_batch = max_batch
        self._open: _Batch | None = None
        self._running: set[asyncio.Task[None]] = set()
        self.statements = 0  # statements run, for tests and diagnostics

    async def __call__(self, row_id: str, *columns: Any) -> Any:
        """The answer row for `row_id` (None if the statement gave none); `columns` are
        the single statement's parameters after the id."""
        loop = asyncio.get_running_loop()
        batch = self._open
        if batch is not None and not self._share_ids and row_id in batch:
            async with self._acquire() as connection:
                return (await self._answers(connection, [(row_id, columns)])).get(row_id)
        if batch is None or len(batch) >= self._max_batch:
            batch = self._open = {}
            task = loop.create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        future: asyncio.Future[Any] = loop.create_future()
        batch.setdefault(row_id, []).append((columns, future))
        return await future

    async def _answers(
        self, connection: Any, items: list[tuple[str, tuple[Any, ...]]]
    ) -> dict[str, Any]:
        self.statements += 1
        arrays = [list(column) for column in zip(*(columns for _, columns in items), strict=True)]
        rows = await connection.fetch(self._statement, [row_id for row_id, _ in items], *arrays)
        return {row[-1]: row for row in rows}

    async def _run(self, batch: _Batch) -> None:
        try:
            async with self._acquire() as connection:
                if self._open is batch:
                    self._open = None  # later operations make the next batch
                items = [
                    (row_id, waiting[0][0])
                    for row_id, waiting in batch.items()
                    if any(not future.done() for _, future in waiting)
                ]
                answers = await self._answers(connection, items) if items else {}
        except BaseException as error:
            if self._open is batch:
                self._open = None
            for waiting in batch.values():
                for _, future in waiting:
                    if future.done():
                        continue
                    if isinstance(error, Exception):
                        future.set_exception(error)
                    else:  # the batch was cancelled (the loop closing): so are its operations
                        future.cancel()
            if not isinstance(error, Exception):
                raise
            return
        for row_id, waiting in batch.items():
            answer = answers.get(row_id)
            for _, future in waiting:
                if not future.done():
                    future.set_result(answer)


# An open batch: for each id, the operations waiting (their columns, their future).
_Batch = dict[str, list[tuple[tuple[Any, ...], asyncio.Future[Any]]]]


class Store:
    """Rows by id on Postgres: asyncpg directly, a pool of `pool_size` connections.

    No ORM layer per statement (SQLAlchemy's async bridge cost more CPU than the query)
    and asyncpg's per-connection prepared-statement cache, so each statement is one
    round trip of an already prepared statement, autocommitted: one failed statement
    cannot poison later ones. Reads, inserts and overwrites waiting for a connection
    share one statement per kind (`Coalesced`). The pool is opened full and never
    overflows: a connection opened per burst and closed after it is set-up work on
    every request; a request waits for a free one instead (every statement is bounded
    by a 10 s command timeout, then 503). A connection broken by a database restart
    fails its statement (503) and the pool replaces it.
    """

    dialect = "postgresql"

    def __init__(self, dsn: str, *, pool_size: int) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self.reads = Coalesced(self._connection, SQL_GET_MANY_POSTGRES, share_ids=True)
        self.inserts = Coalesced(self._connection, SQL_INSERT_MANY_POSTGRES, share_ids=False)
        self.puts = Coalesced(self._connection, SQL_PUT_MANY_POSTGRES, share_ids=False)

    @classmethod
    def open(cls, database_type: str, location: str, *, pool_size: int = 20) -> KVStore:
        if database_type == "sqlite":
            from dumbkv.sqlite_store import SqliteStore  # it builds on this module

            path = Path(location).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            return SqliteStore(path, lock_file=_lock_single_writer(path))
        return cls(postgres_dsn(location), pool_size=pool_size)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def migrate(self) -> None:
        """Apply every Alembic migration not yet applied (idempotent), under an advisory
        lock so replicas starting together do not race."""
        engine = create_async_engine("postgresql+asyncpg://" + self._dsn.partition("://")[2])
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})"))
                await conn.run_sync(_upgrade_to_head)
        except (sa_exc.DBAPIError, *_UNAVAILABLE) as error:
            # As on the request path: only a database that cannot answer is worth a
            # retry; a migration that does not fit the schema is a bug, raised as is.
            if not unavailable(error):
                raise
            raise StoreUnavailable(str(error)) from error
        finally:
            await engine.dispose()

    async def ping(self) -> None:
        await self._fetchrow("SELECT 1")

    async def get(self, row_id: str) -> Row:
        return live(await self._coalesced(self.reads, row_id))

    async def insert(self, row_id: str, value: bytes, *, ttl_s: float | None) -> int:
        """Store a new value; `Conflict` if a live one exists (an expired one is replaced)."""
        now = time.time()
        found = await self._coalesced(self.inserts, row_id, value, expiry(ttl_s, now), now)
        return version_or_conflict(found)

    async def put(self, row_id: str, value: bytes, *, ttl_s: float | None) -> int:
        """Store a value whether or not one exists (overwrite)."""
        now = time.time()
        found = await self._coalesced(self.puts, row_id, value, expiry(ttl_s, now), now)
        return version_or_conflict(found)

    async def compare_and_set(
        self, row_id: str, value: bytes, *, expected_version: int, ttl_s: float | None
    ) -> int:
        """Replace the value only if its version is still `expected_version`."""
        now = time.time()
        found = await self._fetchrow(
            SQL_CAS, value, expiry(ttl_s, now), now, row_id, expected_version, now
        )
        return version_or_conflict(found)

    async def delete(self, row_id: str) -> None:
        await self._fetchrow(SQL_DELETE, row_id)

    async def purge_expired(self, *, limit: int) -> int:
        """Delete up to `limit` expired rows; how many went (dumbkv.purge runs it)."""
        return int((await self._fetchrow(SQL_PURGE_POSTGRES, time.time(), limit))[0])

    async def _coalesced(self, kind: Coalesced, row_id: str, *columns: Any) -> Any:
        try:
            return await kind(row_id, *columns)
        except _UNAVAILABLE as error:
            raise StoreUnavailable(str(error)) from error

    async def _fetchrow(self, sql: str, *parameters: Any) -> Any:
        try:
            async with self._connection() as connection:
                return await connection.fetchrow(_numbered(sql), *parameters)
        except _UNAVAILABLE as error:
            raise StoreUnavailable(str(error)) from error

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[PoolConnectionProxy]:
        pool = self._pool or await self._open_pool()
        # No acquire timeout: asyncpg wraps a timed acquire in a timeout scope per
        # request; a request waits its turn, and every statement is bounded by the
        # command timeout, so a turn always comes.
        async with pool.acquire() as connection:
            yield connection

    async def _open_pool(self) -> asyncpg.Pool:
        """The pool, opened by the first operation; the ones arriving meanwhile wait for
        it rather than each opening a pool of their own. A failed open is retried by the
        next operation."""
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=self._pool_size,
                    max_size=self._pool_size,
                    timeout=5,
                    command_timeout=10,
                    reset=_no_session_state,
                )
            return self._pool


async def _no_session_state(_connection: asyncpg.Connection) -> None:
    """The pool's reset of a connection it takes back: nothing to send.

    asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL;` on every release, a second round trip after each one-statement
    operation; without it dumbkv on Postgres served 1,274 instead of 1,055 ops/s under
    `bench/dumbkv_load.py`'s load (median of 3 interleaved runs, Postgres itself at 0.20
    instead of 0.28 of a core). dumbkv's statements leave no session state to reset:
    no SET, LISTEN, cursors or session advisory locks (the migration's lock is
    transaction-scoped, on an engine of its own). An open transaction, which no
    statement here leaves, is still rolled back by asyncpg before this runs.
    """


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
    """Alembic's `upgrade head`, on `connection` and in its transaction (migrations/env.py)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
