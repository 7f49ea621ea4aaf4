"""The SQLite store's group commit and loop-side reads, on a real SQLite file.

Commits are held deterministically: the test gives the writer a commit step that
waits for the test's go-ahead (then commits for real), run in the commit thread, so
writes arriving meanwhile are seen queueing behind it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dumbkv.sqlite_store import SqliteStore
from dumbkv.store import Conflict, Store
from tests.fixtures.polling import wait_until


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = Store.open("sqlite", str(tmp_path / "kv.db"))
    assert isinstance(opened, SqliteStore)
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.close()


class HeldCommits:
    """The writer's commit step, held until `release()` (bounded: 10 s), in the commit
    thread (as on slow storage: a held commit on the loop would hold the test too)."""

    def __init__(self, store: SqliteStore) -> None:
        self.go = threading.Event()
        store.writer.commit = self.commit
        store.writer.inline_below_s = 0.0

    def commit(self, connection: sqlite3.Connection) -> None:
        self.go.wait(10)
        connection.execute("COMMIT")

    def release(self) -> None:
        self.go.set()


async def _held_writer_then(store: SqliteStore, writes: list) -> list:
    """Run one write whose commit is held, then `writes` queued behind it; release;
    every outcome (value or exception), the first one's first."""
    held = HeldCommits(store)
    first = asyncio.ensure_future(store.put("first", b"1", ttl_s=None))
    await wait_until(lambda: store.writer.in_flight == 1, within=5)  # its commit is held
    queued = [asyncio.ensure_future(write) for write in writes]
    await wait_until(lambda: store.writer.queued() == len(writes), within=5)
    held.release()
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


async def test_reads_do_not_wait_for_a_commit_in_flight(store: SqliteStore) -> None:
    await store.put("there", b"yes", ttl_s=None)
    held = HeldCommits(store)

    pending = asyncio.ensure_future(store.put("later", b"1", ttl_s=None))
    await wait_until(lambda: store.writer.in_flight == 1, within=5)
    read = await store.get("there")
    still_waiting = not pending.done()
    held.release()
    await pending

    assert read.value == b"yes"
    assert still_waiting


async def test_a_read_while_a_commit_is_in_flight_sees_only_committed_writes(
    store: SqliteStore,
) -> None:
    # The batch's transaction is open: its writes are neither durable nor acknowledged.
    await store.put("key", b"committed", ttl_s=None)
    held = HeldCommits(store)

    pending = asyncio.ensure_future(store.put("key", b"uncommitted", ttl_s=None))
    await wait_until(lambda: store.writer.in_flight == 1, within=5)
    during = await store.get("key")
    held.release()
    await pending
    after = await store.get("key")

    assert during.value == b"committed"
    assert after.value == b"uncommitted"


async def test_closing_waits_for_the_writes_it_accepted(store: SqliteStore) -> None:
    held = HeldCommits(store)
    pending = asyncio.ensure_future(store.put("last", b"1", ttl_s=None))
    await wait_until(lambda: store.writer.in_flight == 1, within=5)

    closing = asyncio.ensure_future(store.writer.stop())
    held.release()
    await closing

    assert await pending == 1
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("SELECT value FROM kv WHERE id = 'last'").fetchone() == (b"1",)
    finally:
        other.close()


@pytest.mark.parametrize(
    ("recent_commit_s", "on_the_loop"), [(0.0002, True), (0.05, False)], ids=["fast", "slow"]
)
async def test_fast_commits_run_on_the_loop_and_slow_ones_in_a_thread(
    store: SqliteStore, recent_commit_s: float, on_the_loop: bool
) -> None:
    threads: list[threading.Thread] = []

    def commit(connection: sqlite3.Connection) -> None:
        threads.append(threading.current_thread())
        connection.execute("COMMIT")

    store.writer.commit = commit
    store.writer.commit_s = recent_commit_s  # what the moving average last saw

    assert await store.put("k", b"v", ttl_s=None) == 1
    assert (threads == [threading.current_thread()]) is on_the_loop
    assert (await store.get("k")).value == b"v"
