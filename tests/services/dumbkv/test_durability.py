"""SQLite durability under SIGKILL, single-writer locking, and data at rest."""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import os
import random
import signal
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dumbkv import crypto
from dumbkv.kv import KeyValueService
from dumbkv.store import Store
from resilience import REQUEST_FAULT, REQUEST_FAULT_HEADER
from tests.fixtures.dumbkv import KV, start_dumbkv
from tests.fixtures.dumbkv import PEPPER as SERVICE_PEPPER
from tests.services.dumbkv.writer import PEPPER, run_writer, value_for
from tools.procs import ProcessFailed

KILLS = 50


def test_every_acknowledged_write_survives_repeated_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "dumbkvstore" / "dumbkv.db"
    db.parent.mkdir(parents=True)
    rng = random.Random(5)
    context = multiprocessing.get_context("fork")
    acknowledged: set[int] = set()
    next_index = 0
    for _ in range(KILLS):
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=run_writer, args=(str(db), next_index, sender))
        child.start()
        sender.close()
        for _ in range(rng.randint(1, 6)):  # kill after a random number of acknowledgements
            acknowledged.add(receiver.recv())
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join()
        receiver.close()
        next_index = max(acknowledged) + 1

    async def verify() -> list[int]:
        store = Store.open("sqlite", str(db))
        service = KeyValueService(store, pepper=PEPPER, max_value_bytes=1 << 20)
        try:
            return [
                i for i in sorted(acknowledged)
                if (await service.read(0, f"key-{i}")).value != value_for(i)
            ]  # fmt: skip
        finally:
            await store.close()

    assert len(acknowledged) >= KILLS
    assert asyncio.run(verify()) == []


@pytest.fixture(scope="module")
def sqlite_kv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KV]:
    db_path = tmp_path_factory.mktemp("dumbkv-file") / "dumbkvstore" / "dumbkv.db"
    url, process = start_dumbkv({"DATABASE_TYPE": "sqlite", "DATABASE_LOCATION": str(db_path)})
    try:
        yield KV(url, "sqlite", process, db_path)
    finally:
        process.stop()


def test_a_second_instance_on_the_same_sqlite_file_refuses_to_start(sqlite_kv: KV) -> None:
    kv = sqlite_kv
    assert kv.db_path is not None

    with pytest.raises(ProcessFailed) as refused:
        start_dumbkv({"DATABASE_TYPE": "sqlite", "DATABASE_LOCATION": str(kv.db_path)})

    assert "single-writer" in str(refused.value)


def test_the_database_file_holds_no_key_no_plaintext_and_nothing_decryptable(
    sqlite_kv: KV,
) -> None:
    kv = sqlite_kv
    assert kv.db_path is not None
    secret_key, secret_value = f"secret-key-{uuid.uuid4().hex}", f"plain-{uuid.uuid4().hex}"
    kv.put(secret_key, secret_value)

    files = [p for p in kv.db_path.parent.iterdir() if p.name.startswith(kv.db_path.name)]
    raw = b"".join(p.read_bytes() for p in files)

    for needle in (secret_key, secret_value, base64.b64encode(secret_value.encode()).decode()):
        assert needle.encode() not in raw

    async def stored_rows() -> list[tuple[str, bytes]]:
        store = Store.open("sqlite", str(kv.db_path) + ".copy") if False else None
        del store

        connection = sqlite3.connect(f"file:{kv.db_path}?mode=ro", uri=True)
        try:
            return [
                (row[0], bytes(row[1])) for row in connection.execute("SELECT id, value FROM kv")
            ]
        finally:
            connection.close()

    rows = asyncio.run(stored_rows())
    assert rows
    for row_id, blob in rows:
        # The original's flaw: the stored id was the encryption key. Not here.
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(row_id, 0, row_id, blob)


def test_a_tampered_row_is_a_500_marked_as_caused_by_the_request(sqlite_kv: KV) -> None:
    """Only reads of that one key fail: the marker keeps them from opening the gateway's
    breaker for every other caller (see libs/resilience)."""
    kv = sqlite_kv
    assert kv.db_path is not None
    key = f"k-{uuid.uuid4().hex}"
    assert kv.put(key, "v").status_code == 200
    connection = sqlite3.connect(kv.db_path)
    try:
        with connection:
            connection.execute(
                "UPDATE kv SET value = ? WHERE id = ?",
                (b"\x01" + bytes(60), crypto.stored_id(SERVICE_PEPPER.encode(), 0, key)),
            )
    finally:
        connection.close()

    response = kv.get(key)

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers[REQUEST_FAULT_HEADER] == REQUEST_FAULT
