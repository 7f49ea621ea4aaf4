"""`python -m dumbkv` serves the API; `python -m dumbkv migrate` only applies migrations."""

from __future__ import annotations

import asyncio
import sys

from dumbkv.settings import Settings
from dumbkv.store import Store
from observability import run_service


async def migrate(settings: Settings) -> None:
    store = Store.open(settings.database_type, settings.database_location)
    try:
        await store.migrate()
    finally:
        await store.close()


def main(argv: list[str]) -> None:
    settings = Settings()
    if argv[:1] == ["migrate"]:
        asyncio.run(migrate(settings))
        print("dumbkv: schema is up to date")
        return
    run_service("dumbkv.app:create_app", settings)


main(sys.argv[1:])
