"""Request and response bodies of `POST /predict` (validated up front: 422 on bad input)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_AGENTS = 256
MAX_DIMENSION = 4096
# Names go into the backend URL path and metric labels: a safe alphabet, bounded length,
# and a letter or digit first, so no name is "." or "..", segments a URL normalises away.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
AgentId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class AgentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vector: list[Finite] = Field(min_length=1, max_length=MAX_DIMENSION)
    model: Name
    agent_type: Name


class PredictRequest(BaseModel):
    """`{"agents": {"<agent_id>": {"vector": [...], "model": str, "agent_type": str}}}`."""

    model_config = ConfigDict(extra="forbid")

    agents: dict[AgentId, AgentRequest] = Field(min_length=1, max_length=MAX_AGENTS)


class AgentError(BaseModel):
    code: str = Field(
        description="bad_input | deadline_exceeded | backend_unavailable | backend_error | "
        "bad_backend_response | shutting_down"
    )
    detail: str


class AgentResult(BaseModel):
    """Either `output` or `error` is set (partial-failure policy)."""

    model: str
    agent_type: str
    output: float | None = None
    error: AgentError | None = None


class PredictResponse(BaseModel):
    results: dict[str, AgentResult]
