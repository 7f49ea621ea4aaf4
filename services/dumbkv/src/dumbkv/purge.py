"""Expired rows are deleted in the background, in bounded batches.

A read never returns an expired row (`dumbkv.store.live`) and an insert replaces one, but
nothing else removed them: a key written once with a TTL and never again stayed on disk
for ever. Every `interval_s` each process deletes expired rows, `batch_size` per
statement (one short transaction each, found by the expires_at index), at most
`MAX_BATCHES_PER_RUN` statements per run, so a backlog drains over several runs without
one long transaction. On Postgres several replicas purge at once safely: each statement
skips rows another holds (`SKIP LOCKED`). On SQLite a batch is one write of the group
commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dumbkv.store import KVStore, StoreUnavailable

log = logging.getLogger("dumbkv.purge")

MAX_BATCHES_PER_RUN = 20


async def purge_expired_rows(
    store: KVStore, *, batch_size: int, max_batches: int = MAX_BATCHES_PER_RUN
) -> int:
    """One run: delete expired rows `batch_size` at a time until a batch comes back short
    or `max_batches` ran; how many rows went."""
    purged = 0
    for _ in range(max_batches):
        deleted = await store.purge_expired(limit=batch_size)
        purged += deleted
        if deleted < batch_size:
            break
    return purged


async def _every(store: KVStore, interval_s: float, batch_size: int) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            purged = await purge_expired_rows(store, batch_size=batch_size)
        except StoreUnavailable as error:  # the database is down: the next run retries
            log.warning("purge of expired rows skipped: %s", error)
        except Exception:  # a bug must not end the purge for the process's lifetime
            log.exception("purge of expired rows failed")
        else:
            if purged:
                log.info("purged %d expired rows", purged)


@asynccontextmanager
async def purging(store: KVStore, *, interval_s: float, batch_size: int) -> AsyncIterator[None]:
    """Purge `store`'s expired rows every `interval_s` seconds while the block runs (the
    app's lifespan); `interval_s=0` purges never. The task is cancelled on exit."""
    if interval_s <= 0:
        yield
        return
    task = asyncio.create_task(_every(store, interval_s, batch_size), name="dumbkv-purge")
    try:
        yield
    finally:
        task.cancel()
        # Wait for it to end; its CancelledError is the outcome, not raised here.
        await asyncio.gather(task, return_exceptions=True)
