"""Alembic environment of dumbkv: migrations run on the connection the caller hands over
in `config.attributes["connection"]` (`dumbkv.store` opens it, on SQLite or on Postgres
under its advisory lock), inside the caller's transaction; never on a connection of their
own, so the lock and the migration are one transaction. No offline (SQL script) mode."""

from __future__ import annotations

from alembic import context

from dumbkv.store import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "dumbkv migrations run through dumbkv.store (python -m dumbkv migrate), "
        "which passes its connection in config.attributes['connection']"
    )
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
