"""Request and response bodies of the mock model server."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Finite = Annotated[float, Field(allow_inf_nan=False)]


class InferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_type: str = Field(min_length=1, max_length=64)
    inputs: list[list[Finite]] = Field(min_length=1)


class InferResponse(BaseModel):
    outputs: list[float]


class Stats(BaseModel):
    calls: int
    rows: int
    failures: int
    max_rows: int
    in_flight: int
    calls_by_key: dict[str, int]
    rows_by_key: dict[str, int]
