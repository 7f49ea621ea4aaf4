"""predictor settings (env prefix `PREDICTOR_`); the mock backend's are `model_backend.settings`.

Lists of URLs are comma-separated (as the gateway's `GATEWAY_REMOTE_URLS`); maps are JSON.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from model_backend import contract as model_backend
from observability import IdentitySettings
from predictor.contract import ENV_PREFIX, PORT


def split_urls(value: str | None) -> list[str]:
    return [url.strip().rstrip("/") for url in (value or "").split(",") if url.strip()]


class KeyOverride(BaseModel):
    """Per-(model, agent type) batching knobs; unset fields keep the service defaults."""

    model_config = ConfigDict(extra="forbid")

    max_batch_size: int | None = Field(default=None, ge=1, le=4096)
    max_wait_ms: float | None = Field(default=None, ge=0, le=60_000)
    max_concurrent_batches: int | None = Field(default=None, ge=1, le=1024)
    max_queue: int | None = Field(default=None, ge=1)


class Settings(IdentitySettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    host: str = "127.0.0.1"
    port: int = PORT
    log_level: str = "INFO"
    backend_urls: str = Field(
        default=f"http://127.0.0.1:{model_backend.PORT}",
        description="comma-separated backend replicas",
    )
    model_routes: dict[str, str] = Field(
        default_factory=dict,
        description='JSON {"model": "http://a,http://b"}; other models use backend_urls',
    )
    max_batch_size: int = Field(default=64, ge=1, le=4096)
    max_wait_ms: float = Field(default=50.0, ge=0, le=60_000)
    max_concurrent_batches: int = Field(default=8, ge=1, le=1024)
    max_queue: int = Field(default=2048, ge=1, description="agents waiting per key")
    max_queued_total: int = Field(default=32768, ge=1, description="agents waiting, all keys")
    max_inflight_calls: int = Field(default=64, ge=1, description="backend calls, all keys")
    max_keys: int = Field(default=256, ge=1, description="distinct (model, agent type) queues")
    key_idle_s: float = Field(default=300.0, gt=0, description="an idle key's queue is removed")
    key_overrides: dict[str, KeyOverride] = Field(
        default_factory=dict, description='JSON {"model/agent_type": {"max_batch_size": 32}}'
    )
    backend_total_s: float = Field(default=20.0, gt=0, description="one batch call, retries in")
    backend_attempt_s: float = Field(default=10.0, gt=0, description="one attempt")
    backend_attempts: int = Field(default=2, ge=1, description="retries on connect errors/503")
    retry_after_s: int = Field(default=1, ge=1, description="Retry-After on 429")
    shutdown_grace_s: float = Field(default=10.0, ge=0)

    @property
    def backend_endpoints(self) -> list[str]:
        return split_urls(self.backend_urls)

    @property
    def route_endpoints(self) -> dict[str, list[str]]:
        return {model: split_urls(urls) for model, urls in self.model_routes.items()}
