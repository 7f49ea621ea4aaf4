"""Gateway settings (env prefix `GATEWAY_`; the identity secret is `PLATFORM_IDENTITY_SECRET`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.contract import ENV_PREFIX, PORT
from identity import SECRET_ENV
from observability.edge import (
    DEFAULT_BODY_TIMEOUT_S,
    DEFAULT_HEAD_TIMEOUT_S,
    DEFAULT_MAX_HEAD_BYTES,
    ServerLimits,
)


def split_urls(value: str | None) -> list[str]:
    return [url.strip().rstrip("/") for url in (value or "").split(",") if url.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = PORT
    log_level: str = "INFO"
    remote_urls: str = Field(default="", description="comma-separated remote replicas")
    dumbkv_url: str | None = None
    predictor_url: str | None = None
    users_url: str | None = None
    catalog_url: str | None = None
    invoke_total_s: float = Field(default=2.5, gt=0)
    invoke_per_try_s: float = Field(default=0.8, gt=0)
    invoke_hedging: bool = True
    invoke_max_input_chars: int = Field(default=10_000, gt=0)
    stale_cache_size: int = Field(default=1024, ge=0, description="0 disables stale-if-error")
    breaker_open_s: float = Field(default=5.0, gt=0)
    services_total_s: float = Field(default=5.0, gt=0)
    predict_total_s: float = Field(default=15.0, gt=0)
    ready_requires_remote: bool = True

    # Authentication and authorisation (docs/security.md, "Gateway").
    auth_mode: Literal["writes", "all", "off"] = "writes"
    keys_db: Path = Field(default=Path(".data/gateway/keys.db"), description="API key store")
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_leeway_s: float = Field(default=30.0, ge=0)
    oidc_jwks_ttl_s: float = Field(default=3600.0, gt=0)
    oidc_jwks_min_refresh_s: float = Field(default=30.0, ge=0)
    admin_api: bool = Field(default=False, description="serve /_admin/* (admin identity only)")
    identity_secret: str | None = Field(
        default=None,
        validation_alias=SECRET_ENV,
        description="HMAC secret shared with the services; signs X-Platform-Identity",
    )

    # Abuse limits. A rate of 0 disables that limit.
    rate_limit_rps: float = Field(default=100.0, ge=0, description="per authenticated identity")
    rate_limit_burst: int = Field(default=200, ge=1)
    anon_rate_limit_rps: float = Field(default=20.0, ge=0, description="per anonymous client IP")
    anon_rate_limit_burst: int = Field(default=40, ge=1)
    graphql_max_query_bytes: int = Field(default=10 * 1024, gt=0)
    graphql_max_depth: int = Field(default=10, gt=0)
    graphql_max_tokens: int = Field(default=1000, gt=0)
    graphql_max_aliases: int = Field(default=10, ge=0)
    # A whole GraphQL request: the 10 KiB query plus an invoke input of 10,000
    # characters, each JSON-escaped to at most 6 bytes, with room to spare.
    graphql_max_body_bytes: int = Field(default=128 * 1024, gt=0)
    # The floor of an anonymous caller's X-Request-Deadline-Ms (a shorter one is raised).
    anon_min_deadline_s: float = Field(default=1.0, ge=0)
    # Edge limits (observability.edge): request heads, slow clients, forwarded headers.
    max_head_bytes: int = Field(default=DEFAULT_MAX_HEAD_BYTES, gt=0)
    head_timeout_s: float = Field(default=DEFAULT_HEAD_TIMEOUT_S, gt=0)
    body_timeout_s: float = Field(default=DEFAULT_BODY_TIMEOUT_S, gt=0)
    trusted_proxies: str = Field(
        default="", description="comma-separated proxy addresses whose X-Forwarded-For counts"
    )
    cors_origins: str = Field(default="", description="comma-separated allowed origins")

    @property
    def remote_endpoints(self) -> list[str]:
        return split_urls(self.remote_urls)

    @property
    def cors_allowed_origins(self) -> list[str]:
        return split_urls(self.cors_origins)

    @property
    def server_limits(self) -> ServerLimits:
        return ServerLimits(
            max_head_bytes=self.max_head_bytes,
            head_timeout_s=self.head_timeout_s,
            trusted_proxies=tuple(split_urls(self.trusted_proxies)),
        )

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None

    @model_validator(mode="after")
    def _oidc_is_all_or_nothing(self) -> Settings:
        oidc = (self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url)
        if any(oidc) and not all(oidc):
            raise ValueError(
                "GATEWAY_OIDC_ISSUER, GATEWAY_OIDC_AUDIENCE and GATEWAY_OIDC_JWKS_URL "
                "are set together or not at all"
            )
        return self
