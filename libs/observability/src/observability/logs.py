"""Structured logs: structlog JSON lines to stdout (console rendering on a TTY).

Every line carries time, level, service, event, and — inside a request — request_id,
trace_id and span_id, so a log line, a trace and a metric exemplar can be joined.
Configuration is process-wide (logging is), done once by `configure_logging`.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

_configured_service: str | None = None
# The access line's own logger (see `access_log`); stdlib's until logging is configured.
_access: Any = structlog.stdlib.get_logger("observability.http")


def _add_trace_ids(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - tracing is a hard dependency of the lib
        return event
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


def configure_logging(service: str, *, level: str = "INFO", json: bool | None = None) -> None:
    """Route structlog and stdlib logging to stdout as one JSON object per line.

    `json=None` picks JSON unless stdout is a terminal. Calling again with the same
    service is a no-op; a different service re-binds the `service` field.
    """
    global _configured_service
    if _configured_service == service:
        return
    _configured_service = service
    use_json = (not sys.stdout.isatty()) if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        _add_trace_ids,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # ExtraAdder: fields a stdlib caller passes as `extra=` are kept, not dropped.
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            _bind_service(service),
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )
    global _access
    # Same processors, same line, but straight to stdout: the access line is written
    # for every request, and stdlib's record, caller lookup, handler lock and
    # formatter cost more than the whole line (level filtering stays: a bound logger
    # made for the configured level drops what is below it without any work).
    _access = structlog.wrap_logger(
        structlog.WriteLogger(sys.stdout),
        processors=[*shared[:4], _bind_service(service), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own handlers would print a second, unstructured copy.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers[:] = []
        named.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _bind_service(service: str) -> Any:
    def add_service(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
        event.setdefault("service", service)
        return event

    return add_service


def access_log(level: str, **fields: Any) -> None:
    """One `request` line (the per-request access log) at `level` ("info", "warning")."""
    getattr(_access, level)("request", **fields)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; its lines carry the request context bound by `create_app`."""
    return structlog.stdlib.get_logger(name)
