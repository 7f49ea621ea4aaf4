"""catalog settings, read once from the environment.

A frozen dataclass rather than pydantic-settings (the house default): the Lambda path
must not import pydantic, whose import alone costs more than this whole handler's cold
start. The names follow the issue and the AWS conventions (TABLE_NAME, AWS_*), the rest
use the CATALOG_ prefix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from catalog.contract import HOST_ENV, PORT, PORT_ENV

ClientKind = Literal["auto", "lite", "boto3"]
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the handler reads from the environment (documented in the README)."""

    table_name: str = "llm_scores"
    region: str = "us-east-1"
    endpoint_url: str | None = None
    cache_ttl_s: float = 60.0
    stale_max_s: float = 86400.0
    error_backoff_s: float = 5.0
    prime_at_init: bool = False
    dynamodb_client: ClientKind = "auto"
    dynamodb_timeout_s: float = 3.0
    host: str = "127.0.0.1"
    port: int = PORT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (default os.environ); raises ValueError on a bad value."""
        env = os.environ if env is None else env
        client = env.get("CATALOG_DYNAMODB_CLIENT", "auto").strip().lower()
        if client not in ("auto", "lite", "boto3"):
            raise ValueError(f"CATALOG_DYNAMODB_CLIENT must be auto, lite or boto3: {client!r}")
        settings = cls(
            table_name=env.get("TABLE_NAME", "llm_scores"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=(
                env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL") or None
            ),
            cache_ttl_s=float(env.get("CATALOG_CACHE_TTL_S", "60")),
            stale_max_s=float(env.get("CATALOG_STALE_MAX_S", "86400")),
            error_backoff_s=float(env.get("CATALOG_ERROR_BACKOFF_S", "5")),
            prime_at_init=env.get("CATALOG_PRIME_AT_INIT", "").strip().lower() in _TRUE,
            dynamodb_client=client,  # type: ignore[arg-type]  # checked above
            dynamodb_timeout_s=float(env.get("CATALOG_DYNAMODB_TIMEOUT_S", "3")),
            host=env.get(HOST_ENV, "127.0.0.1"),
            port=int(env.get(PORT_ENV, str(PORT))),
        )
        if settings.cache_ttl_s < 0 or settings.stale_max_s < 0 or settings.error_backoff_s < 0:
            raise ValueError("CATALOG_CACHE_TTL_S, _STALE_MAX_S and _ERROR_BACKOFF_S must be >= 0")
        return settings
