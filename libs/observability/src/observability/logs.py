"""Structured logs: structlog JSON lines to stdout (console rendering on a TTY).

Every line carries time, level, service, event, and — inside a request — request_id,
trace_id and span_id, so a log line, a trace and a metric exemplar can be joined.
Configuration is process-wide (logging is), done once by `configure_logging`.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import sys
import time
from collections.abc import Callable
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
# their order; at exit it is flushed. A SIGKILL may lose this much of access lines.
ACCESS_FLUSH_S = 0.05
STDOUT_BUFFER_BYTES = 64 * 1024
_buffered_streams: dict[int, TextIO] = {}


_second_text: tuple[int, str] = (-1, "")


def _utc_timestamp() -> str:
    """Now as ISO 8601 UTC with microseconds ("2026-12-03T09:26:02.123456Z"), as
    structlog's `TimeStamper(fmt="iso", utc=True)` writes it. By hand: the date and
    time of day are formatted once a second, a fifth of `datetime.now().isoformat()`."""
    global _second_text
    second, nanos = divmod(time.time_ns(), 1_000_000_000)
    if _second_text[0] != second:
        _second_text = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_second_text[1]}.{nanos // 1000:06d}Z"


def _flush_unless_closed(stream: TextIO) -> None:
    if not stream.closed:
        stream.flush()


def _buffered(stdout: TextIO) -> TextIO:
    """stdout's file descriptor as a buffered text stream of its own.

    Why: with `PYTHONUNBUFFERED=1`, which container images set (services/Dockerfile
    does), `sys.stdout` writes through, one write(2) per line whatever is flushed when;
    so the access line's deferred flush would save nothing. Every line of
    `configure_logging` goes through this one stream, so lines keep their order; a
    bare `print` still goes to `sys.stdout` directly. A stream without a descriptor
    (pytest's capture) is used as it is.
    """
    try:
        descriptor = stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return stdout
    if descriptor not in _buffered_streams:
        stdout.flush()
        stream = open(  # noqa: SIM115 - lives as long as the process, flushed at exit
            descriptor,
            "w",
            buffering=STDOUT_BUFFER_BYTES,
            encoding="utf-8",
            errors="backslashreplace",
            closefd=False,
        )
        atexit.register(_flush_unless_closed, stream)
        _buffered_streams[descriptor] = stream
    return _buffered_streams[descriptor]


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
    stream = _buffered(sys.stdout) if use_json else sys.stdout
    if use_json:
        _access = JsonAccessLine(service, threshold, stream)
    else:  # a developer's terminal: the console renderer, speed is not the point
        _access = _through(
            structlog.wrap_logger(
                structlog.WriteLogger(sys.stdout),
                processors=[*shared[:4], _bind_service(service), renderer],
                wrapper_class=structlog.make_filtering_bound_logger(threshold),
            )
        )
    handler = logging.StreamHandler(stream)  # flushed after every line
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
        line["time"] = _utc_timestamp()
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
