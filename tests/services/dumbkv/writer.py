"""Durability harness child: writes keys through dumbkv's own storage path and reports
each index only after its write has committed. The test SIGKILLs it mid-stream.

Forked from the test process (imports already done), so 50 kills cost seconds.
"""

from __future__ import annotations

import asyncio
from multiprocessing.connection import Connection

from dumbkv.kv import KeyValueService
from dumbkv.store import Store

PEPPER = b"durability-pepper"


def value_for(index: int) -> str:
    return f"value-{index}-" + "x" * (index % 97)


async def _write_forever(path: str, first: int, acks: Connection) -> None:
    store = Store.open("sqlite", path)
    await store.migrate()
    service = KeyValueService(store, pepper=PEPPER, max_value_bytes=1 << 20)
    index = first
    while True:
        await service.write(0, f"key-{index}", value_for(index), overwrite=True)
        acks.send(index)  # acknowledged: the transaction has committed
        index += 1


def run_writer(path: str, first: int, acks: Connection) -> None:
    asyncio.run(_write_forever(path, first, acks))
