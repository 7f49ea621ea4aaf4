"""The server pepper (HMAC key of stored ids): required in prod, generated in dev."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from dumbkv.settings import Settings

log = logging.getLogger("dumbkv.pepper")


class PepperMissing(Exception):
    pass


def load_pepper(settings: Settings) -> bytes:
    """DUMBKV_PEPPER if set; in dev, a generated one persisted next to the SQLite file."""
    if settings.pepper:
        return settings.pepper.encode("utf-8")
    if settings.env == "prod" or settings.database_type != "sqlite":
        raise PepperMissing(
            "DUMBKV_PEPPER is required (prod, or a shared Postgres database that every "
            "replica must hash keys for identically)"
        )
    path = Path(settings.database_location).expanduser().with_name("pepper")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        log.warning("generated a dev pepper at %s; set DUMBKV_PEPPER in production", path)
    return path.read_text().strip().encode("utf-8")
