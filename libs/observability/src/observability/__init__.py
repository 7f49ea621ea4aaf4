"""One service skeleton for all: app factory, metrics, traces, logs, health, SLOs.

Public names are imported lazily (PEP 562) so that `import observability.aws_lambda`
never pulls in FastAPI or pydantic: the catalog Lambda's cold start pays only for
what it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "SLO",
    "IdentitySettings",
    "ProblemError",
    "ReadinessCheck",
    "ServerLimits",
    "availability",
    "create_app",
    "get_logger",
    "latency",
    "problem_response",
    "run_service",
    "serve",
    "upstream_calls",
]

_EXPORTS = {
    "create_app": "observability.app",
    "serve": "observability.app",
    "run_service": "observability.app",
    "ReadinessCheck": "observability.health",
    "ServerLimits": "observability.edge",
    "IdentitySettings": "observability.settings",
    "ProblemError": "observability.problems",
    "problem_response": "observability.problems",
    "get_logger": "observability.logs",
    "SLO": "observability.slo",
    "availability": "observability.slo",
    "latency": "observability.slo",
    "upstream_calls": "observability.slo",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from observability.app import create_app, run_service, serve
    from observability.edge import ServerLimits
    from observability.health import ReadinessCheck
    from observability.logs import get_logger
    from observability.problems import ProblemError, problem_response
    from observability.settings import IdentitySettings
    from observability.slo import SLO, availability, latency, upstream_calls


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'observability' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
