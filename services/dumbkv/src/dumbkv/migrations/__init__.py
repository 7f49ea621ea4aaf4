"""Alembic migrations of the dumbkv schema (applied at start and by `python -m dumbkv migrate`)."""
