"""The Postgres store's pool: one round trip per operation, nothing sent on release, and
point reads that wait together answered by one statement."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from dumbkv.store import (
    SQL_GET_MANY_POSTGRES,
    Conflict,
    NotFound,
    Row,
    Store,
    StoreUnavailable,
    postgres_dsn,
)
from tests.fixtures.dumbkv import fresh_database
from tests.fixtures.postgres import PostgresInstance

pytestmark = pytest.mark.docker


async def _last_statements(url: str) -> list[str]:
    """The last statement each other backend on this database ran (pg_stat_activity)."""
    admin = await asyncpg.connect(url)
    try:
        rows = await admin.fetch(
            "SELECT query FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    return [row["query"] for row in rows]


async def _get_then_look(url: str) -> list[str]:
    store = Store(postgres_dsn(url), pool_size=1)  # one connection: it served the get
    try:
        await store.migrate()
        await store.put("row", b"value", ttl_s=None)
        assert (await store.get("row")).value == b"value"
        return await _last_statements(url)
    finally:
        await store.close()


def test_a_connection_goes_back_to_the_pool_without_a_reset_round_trip(
    postgres: PostgresInstance,
) -> None:
    # Before: asyncpg's default reset ran "SELECT pg_advisory_unlock_all(); CLOSE ALL;
    # UNLISTEN *; RESET ALL;" after every statement, a second round trip each time.
    last = asyncio.run(_get_then_look(fresh_database(postgres)))

    assert len(last) == 1, last
    assert "RESET ALL" not in last[0]
    assert last[0] == SQL_GET_MANY_POSTGRES, last


async def _read_together(url: str) -> tuple[list[Row | BaseException], int]:
    store = Store(postgres_dsn(url), pool_size=2)
    try:
        await store.migrate()
        await store.put("a", b"A", ttl_s=None)
        await store.put("b", b"B", ttl_s=None)
        await store.put("gone", b"G", ttl_s=-1)  # expired on arrival
        before = store.reads.statements
        answers = await asyncio.gather(
            *(store.get(row_id) for row_id in ("a", "b", "a", "missing", "gone")),
            return_exceptions=True,
        )
        return list(answers), store.reads.statements - before
    finally:
        await store.close()


def test_reads_arriving_together_get_their_own_answers_from_one_statement(
    postgres: PostgresInstance,
) -> None:
    answers, statements = asyncio.run(_read_together(fresh_database(postgres)))

    values = [answer.value if not isinstance(answer, BaseException) else type(answer)
              for answer in answers]  # fmt: skip
    assert values == [b"A", b"B", b"A", NotFound, NotFound]
    assert statements == 1


async def _read_while_the_pool_is_busy(url: str) -> tuple[list[bytes], int, bytes]:
    store = Store(postgres_dsn(url), pool_size=1)
    try:
        await store.migrate()
        for row_id in ("a", "b", "c"):
            await store.put(row_id, row_id.encode(), ttl_s=None)
        before = store.reads.statements
        async with store._connection():  # the only connection, held: reads must wait
            first = asyncio.ensure_future(store.get("a"))
            await asyncio.sleep(0)  # later turns of the loop: the batch is still open
            cancelled = asyncio.ensure_future(store.get("b"))
            await asyncio.sleep(0)
            last = asyncio.ensure_future(store.get("c"))
            await asyncio.sleep(0)
            cancelled.cancel()  # a reader gone (client away) leaves the others theirs
        answers = [(await first).value, (await last).value]
        statements = store.reads.statements - before
        return answers, statements, (await store.get("b")).value
    finally:
        await store.close()


def test_reads_waiting_for_a_busy_pool_share_one_statement_and_a_cancelled_one_drops_out(
    postgres: PostgresInstance,
) -> None:
    answers, statements, after = asyncio.run(_read_while_the_pool_is_busy(fresh_database(postgres)))

    assert answers == [b"a", b"c"]
    assert statements == 1
    assert after == b"b"


async def _write_together(url: str) -> tuple[list[object], int, int, list[bytes]]:
    store = Store(postgres_dsn(url), pool_size=2)
    try:
        await store.migrate()
        await store.insert("live", b"old", ttl_s=None)
        await store.insert("expired", b"old", ttl_s=-1)
        inserts, puts = store.inserts.statements, store.puts.statements
        answers = await asyncio.gather(
            store.insert("new", b"N", ttl_s=None),
            store.insert("live", b"L", ttl_s=None),  # a live value: a conflict
            store.insert("expired", b"E", ttl_s=None),  # an expired one is replaced
            store.insert("twice", b"T1", ttl_s=None),
            store.insert("twice", b"T2", ttl_s=None),  # the same id: one of the two wins
            store.put("live", b"P", ttl_s=None),
            store.put("other", b"O", ttl_s=None),
            return_exceptions=True,
        )
        values = [(await store.get(row_id)).value for row_id in ("new", "expired", "live")]
        return (
            [answer if isinstance(answer, int) else type(answer) for answer in answers],
            store.inserts.statements - inserts,
            store.puts.statements - puts,
            values,
        )
    finally:
        await store.close()


def test_writes_arriving_together_are_one_statement_per_kind_with_their_own_outcomes(
    postgres: PostgresInstance,
) -> None:
    answers, inserts, puts, values = asyncio.run(_write_together(fresh_database(postgres)))

    new, live, expired, twice, again, put_live, put_other = answers
    assert (new, live, expired, put_other) == (1, Conflict, 2, 1)
    assert sorted([twice, again], key=str) == sorted([1, Conflict], key=str)
    assert put_live == 2  # the overwrite lands on the version the insert left
    # The inserts of distinct ids shared one statement, the second "twice" went alone.
    assert (inserts, puts) == (2, 1)
    assert values == [b"N", b"E", b"P"]


async def _read_from_a_database_that_is_gone() -> list[Row | BaseException]:
    # Nothing listens on port 9 of loopback (discard): the pool cannot open.
    store = Store("postgresql://nobody:none@127.0.0.1:9/none", pool_size=1)
    try:
        return list(await asyncio.gather(store.get("a"), store.get("b"), return_exceptions=True))
    finally:
        await store.close()


def test_every_read_of_a_batch_is_unavailable_when_the_database_is() -> None:
    answers = asyncio.run(_read_from_a_database_that_is_gone())

    assert [type(answer) for answer in answers] == [StoreUnavailable, StoreUnavailable]
