"""Settings of the unreliable upstream; every knob is an env var `REMOTE_*`.

Defaults reproduce the original `remote_server.py`: 5 % → 503, an independent 5 % →
500, latency uniform 0-999 ms, 5 % of requests stall for 300 s, and a 4-minute outage
every hour at a random minute chosen at start. Like the original (`time.sleep` inside an
`async def`, one uvicorn worker) a replica serves one `/invoke` at a time, and its 503
path crashes into a `text/plain` 500. `serialized=False` and `faithful_errors=False`
give a kinder, concurrent model for tests that need one.

With `PLATFORM_IDENTITY_SECRET` (the platform's, as `make run` sets it) every call
outside the open paths needs the gateway's signed identity; without it (the benches,
a replica run alone) anyone may call, as the original.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from observability import IdentitySettings
from remote.contract import ENV_PREFIX, PORT


class Settings(IdentitySettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    host: str = "127.0.0.1"
    port: int = PORT
    log_level: str = "INFO"
    failure_503_rate: float = Field(default=0.05, ge=0, le=1)
    failure_500_rate: float = Field(default=0.05, ge=0, le=1)
    latency_min_ms: int = Field(default=0, ge=0)
    latency_max_ms: int = Field(default=999, ge=0)
    stall_rate: float = Field(default=0.05, ge=0, le=1)
    stall_s: float = Field(default=300.0, ge=0)
    outage_minutes: float = Field(default=4.0, ge=0)
    outage_period_minutes: float = Field(default=60.0, gt=0)
    outage_start_minute: float | None = Field(default=None, ge=0)
    time_scale: float = Field(default=1.0, gt=0)
    seed: int | None = None
    serialized: bool = True
    faithful_errors: bool = True
    chaos_token: str | None = None
    max_input_chars: int = Field(default=1_000_000, gt=0)
