"""Structured logs: structlog JSON lines to stdout (console rendering on a TTY).

Every line carries time, level, service, event, and — inside a request — request_id,
trace_id and span_id, so a log line, a trace and a metric exemplar can be joined.
Configuration is process-wide (logging is), done once by `configure_logging`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger

_configured_service: str | None = None
AccessWriter = Callable[[str, dict[str, Any]], None]
# Level names as `access_log` takes them ("info") -> stdlib's numbers.
_LEVELS = {name.lower(): number for name, number in logging.getLevelNamesMapping().items()}
# One encoder for every access line: `json.dumps(..., default=...)` builds a new one per
# call. A value JSON cannot encode is written as its repr, as structlog does.
_ENCODER = json.JSONEncoder(default=repr)
# An access line is written to the stream at once and flushed within this many seconds:
# one write(2) per burst of requests rather than one per request (a tenth of a dumbkv
# request's CPU under load). Every other log line flushes the same stream, so lines keep
# their order; at exit Python flushes it. A SIGKILL may lose this much of access lines.
ACCESS_FLUSH_S = 0.05


def _through(logger: Any) -> AccessWriter:
    def write(level: str, fields: dict[str, Any]) -> None:
        getattr(logger, level)("request", **fields)

    return write


# The access line's writer (see `access_log`); stdlib's logger until logging is configured.
_access: AccessWriter = _through(structlog.stdlib.get_logger("observability.http"))


def _add_trace_ids(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
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
    threshold = logging.getLevelName(level.upper())
    if use_json:
        _access = JsonAccessLine(service, threshold, sys.stdout)
    else:  # a developer's terminal: the console renderer, speed is not the point
        _access = _through(
            structlog.wrap_logger(
                structlog.WriteLogger(sys.stdout),
                processors=[*shared[:4], _bind_service(service), renderer],
                wrapper_class=structlog.make_filtering_bound_logger(threshold),
            )
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


class JsonAccessLine:
    """The access line as JSON, built and written here rather than by structlog.

    Why by hand: it is written for every request of every service, and structlog's
    chain (context copy, level, ISO time stamp, trace ids, service, renderer, then a
    locked write) cost 38 us per line on the CI machine against 6 us for building the
    same object and writing it (measured with the JSON line of `configure_logging`).
    The line is the same as every other one: event, the request's bound context
    (request id, the gateway's caller), the fields, level, time (ISO 8601 UTC, `Z`),
    service and, inside a trace, trace and span ids. Lines below `threshold` are dropped.
    Inside an event loop the stream is flushed within `ACCESS_FLUSH_S`, not per line.
    The pending flush belongs to the loop it was scheduled on: a loop that closes first
    drops it, and the next loop's line schedules its own.
    """

    def __init__(self, service: str, threshold: int, stream: TextIO) -> None:
        self.service = service
        self.threshold = threshold
        self.stream = stream
        self._flush_loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, level: str, fields: dict[str, Any]) -> None:
        if _LEVELS[level] < self.threshold:
            return
        line: dict[str, Any] = {"event": "request", **fields}
        for name, value in structlog.contextvars.get_contextvars().items():
            line.setdefault(name, value)
        line["level"] = level
        line["time"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        _add_trace_ids(None, level, line)
        line.setdefault("service", self.service)
        self.stream.write(_ENCODER.encode(line) + "\n")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to flush later: now
            self.stream.flush()
            return
        if loop is self._flush_loop:
            return
        self._flush_loop = loop
        loop.call_later(ACCESS_FLUSH_S, self._flush)

    def _flush(self) -> None:
        self._flush_loop = None
        self.stream.flush()


def access_log(level: str, **fields: Any) -> None:
    """One `request` line (the per-request access log) at `level` ("info", "warning")."""
    _access(level, fields)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; its lines carry the request context bound by `create_app`."""
    return structlog.stdlib.get_logger(name)
