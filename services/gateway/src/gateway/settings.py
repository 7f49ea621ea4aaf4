"""Gateway settings (env prefix `GATEWAY_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def split_urls(value: str | None) -> list[str]:
    return [url.strip().rstrip("/") for url in (value or "").split(",") if url.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_")

    host: str = "127.0.0.1"
    port: int = 8000
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

    @property
    def remote_endpoints(self) -> list[str]:
        return split_urls(self.remote_urls)
