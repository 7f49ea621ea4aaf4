"""The SQLite store's group commit and loop-side reads, on a real SQLite file.

The writer thread is held deterministically: another connection takes SQLite's write
lock (BEGIN IMMEDIATE), so the writer's next transaction waits in SQLite's busy
handler while the test queues more writes behind it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dumbkv.sqlite_store import SqliteStore
from dumbkv.store import Conflict, Store
from tests.support import wait_until


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = Store.open("sqlite", str(tmp_path / "kv.db"))
    assert isinstance(opened, SqliteStore)
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.close()


@contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


async def _held_writer_then(store: SqliteStore, writes: list) -> list:
    """Run one write that the writer takes and blocks on, then `writes` queued behind
    it; release the lock; every outcome (value or exception), the first one's first."""
    with write_lock_held(store.path):
        first = asyncio.ensure_future(store.put("first", b"1", ttl_s=None))
        await wait_until(lambda: store.writer.in_flight == 1, within=5)  # blocked on the lock
        queued = [asyncio.ensure_future(write) for write in writes]
        await wait_until(lambda: store.writer.queued() == len(writes), within=5)
    return await asyncio.gather(first, *queued, return_exceptions=True)


async def test_writes_that_queue_behind_a_commit_share_the_next_one(store: SqliteStore) -> None:
    writes = [store.put(f"k{i}", b"v", ttl_s=None) for i in range(10)]

    outcomes = await _held_writer_then(store, writes)

    assert outcomes == [1] * 11
    assert store.writer.commits == 2  # the held one alone, then the ten together
    assert [(await store.get(f"k{i}")).value for i in range(10)] == [b"v"] * 10


async def test_a_conflict_in_a_batch_fails_only_its_own_write(store: SqliteStore) -> None:
    await store.put("taken", b"old", ttl_s=None)
    commits = store.writer.commits
    writes = [
        store.put("a", b"a", ttl_s=None),
        store.insert("taken", b"new", ttl_s=None),
        store.compare_and_set("taken", b"cas", expected_version=7, ttl_s=None),
        store.put("b", b"b", ttl_s=None),
    ]

    outcomes = await _held_writer_then(store, writes)

    assert [outcomes[0], outcomes[1], outcomes[4]] == [1, 1, 1]
    assert [type(outcome) for outcome in outcomes[2:4]] == [Conflict, Conflict]
    assert store.writer.commits == commits + 2
    assert (await store.get("taken")).value == b"old"
    assert (await store.get("b")).value == b"b"


async def test_an_acknowledged_write_is_committed_for_every_other_connection(
    store: SqliteStore,
) -> None:
    version = await store.put("durable", b"x", ttl_s=None)

    other = sqlite3.connect(store.path)
    try:
        row = other.execute("SELECT value, version FROM kv WHERE id = 'durable'").fetchone()
    finally:
        other.close()

    assert row == (b"x", version)


async def test_reads_do_not_wait_for_a_blocked_writer(store: SqliteStore) -> None:
    await store.put("there", b"yes", ttl_s=None)

    with write_lock_held(store.path):
        pending = asyncio.ensure_future(store.put("later", b"1", ttl_s=None))
        await wait_until(lambda: store.writer.in_flight == 1, within=5)
        read = await store.get("there")
        still_waiting = not pending.done()
    await pending

    assert read.value == b"yes"
    assert still_waiting
