"""model_backend settings (env prefix `BACKEND_`); maps are JSON."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model_backend.contract import ENV_PREFIX, PORT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    host: str = "127.0.0.1"
    port: int = PORT
    log_level: str = "INFO"
    latency_min: float = Field(default=3.0, ge=0, description="seconds per call, uniform")
    latency_max: float = Field(default=7.0, ge=0)
    failure_rate: float = Field(default=0.0, ge=0, le=1, description="500s, every model")
    failure_rates: dict[str, float] = Field(
        default_factory=dict, description='JSON {"model": 1.0}: failure rate per model'
    )
    max_concurrency: int = Field(
        default=0, ge=0, description="calls served at once per model (0: unlimited)"
    )
    seed: int | None = None
    control_routes: bool = Field(
        default=False,
        description="dev/test only: serve POST /control/pause|resume (they stall every call)",
    )
