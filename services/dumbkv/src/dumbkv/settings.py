"""dumbkv settings. The original's env names are kept so configs carry over:
DATABASE_TYPE, DATABASE_LOCATION and DUMBKV_PEPPER; the rest use the DUMBKV_ prefix.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from dumbkv.contract import ENV_PREFIX, PORT
from observability import IdentitySettings


class Settings(IdentitySettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    host: str = "127.0.0.1"
    port: int = PORT
    log_level: str = "INFO"
    env: Literal["dev", "prod"] = Field(
        default="dev", description="prod requires DUMBKV_PEPPER and refuses a generated one"
    )
    database_type: Literal["sqlite", "postgres"] = Field(
        default="sqlite", validation_alias=AliasChoices("DATABASE_TYPE", "DUMBKV_DATABASE_TYPE")
    )
    database_location: str = Field(
        default="./.data/dumbkvstore/dumbkv.db",
        validation_alias=AliasChoices("DATABASE_LOCATION", "DUMBKV_DATABASE_LOCATION"),
        description="SQLite file path, or a Postgres URL",
    )
    pepper: str | None = Field(
        default=None, validation_alias=AliasChoices("DUMBKV_PEPPER"), repr=False
    )
    max_value_bytes: int = Field(default=1024 * 1024, gt=0)
    pool_size: int = Field(default=20, gt=0)
    purge_interval_s: float = Field(
        default=60.0, ge=0, description="seconds between purges of expired rows; 0: never"
    )
    purge_batch_size: int = Field(default=500, gt=0, description="expired rows per DELETE")
    tenant_databases: dict[str, list[int]] = Field(
        default_factory=dict,
        description="JSON: identity subject -> database numbers it uses in the shared "
        'namespace (admins\' and a dumbkv without identity), "*" for subjects not listed; '
        "every other database of a caller is private to it",
    )
