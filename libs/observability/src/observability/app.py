"""`create_app`: the one service skeleton every service is built on.

A service adds its routes; everything else is here and identical everywhere:
`/livez`, `/readyz`, `/metrics`, request ids (`X-Request-ID` honoured or created,
echoed, in every log line), RFC 9457 problem details for every error, inbound
deadlines (`X-Request-Deadline-Ms`), RED metrics by route template, W3C trace
propagation, JSON logs, and graceful shutdown via `serve`.
"""

from __future__ import annotations

import math
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from pydantic_settings import BaseSettings
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware

from identity import VerifyIdentity
from observability import heap
from observability.edge import BodyLimitMiddleware, BodyLimits, ServerLimits
from observability.health import ReadinessCheck, run_checks
from observability.logs import configure_logging
from observability.metrics import render_latest, server_metrics
from observability.middleware import ObservabilityMiddleware
from observability.problems import (
    ProblemError,
    handle_http_exception,
    handle_problem,
    handle_unexpected,
    handle_validation_error,
)
from observability.slo import SLO
from observability.tracing import configure_tracing, exporting, instrument_app

DEFAULT_SHUTDOWN_GRACE_S = 10.0
# A listening socket handed over by the process that started this one (tools.procs):
# the parent binds the port, so no other process can take it between choosing and
# serving, and the parent knows the port before the child runs (socket activation).
LISTEN_FD_VAR = "SERVER_LISTEN_FD"
NO_NATIVE_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


# A domain exception's answer: a status, or a function that builds the problem.
ErrorMapping = int | Callable[[Exception], ProblemError]


def create_app(
    name: str,
    settings: BaseSettings | None = None,
    *,
    version: str = "0.1.0",
    lifespan: Any = None,
    readiness_checks: Sequence[ReadinessCheck] = (),
    slos: Sequence[SLO] = (),
    latency_buckets: Sequence[float] | None = None,
    shutdown_grace_s: float = DEFAULT_SHUTDOWN_GRACE_S,
    title: str | None = None,
    description: str = "",
    log_level: str | None = None,
    body_limits: BodyLimits | None = None,
    identity_secrets: Sequence[str | None] = (),
    open_paths: Collection[str] = (),
    errors: Mapping[type[Exception], ErrorMapping] | None = None,
) -> FastAPI:
    """Build a FastAPI app with the platform's probes, metrics, logs, traces and errors.

    Defaults: readiness checks time out after 1 s each; latency buckets from 5 ms to
    10 s (`observability.metrics.DEFAULT_BUCKETS`) — pass `latency_buckets` that contain
    each latency SLO threshold; shutdown drains in-flight requests for up to 10 s
    (applied by `serve`). `/metrics` and the probes are left out of the OpenAPI schema.
    Readiness checks can be added later with `app.state.readiness_checks.append(...)`.
    Request bodies must arrive within 30 s and are uncapped unless `body_limits` says
    otherwise (`observability.edge.BodyLimits`): 408 / 413 problem details.
    With `identity_secrets` (the current secret, then the previous one during a
    rotation; unset ones are skipped) every request needs the gateway's signed identity
    (`identity.VerifyIdentity`: 401 before any route runs), except the probes,
    `/metrics`, the API docs and the service's own `open_paths`.
    `errors` is the service's one map from domain exceptions to answers (its `api.py`
    declares it): a status, rendered with the exception's message as the detail, or a
    function that builds the `ProblemError` (extra headers, extension members). A
    subclass takes the nearest mapped base's answer, as Starlette's handlers do.
    """
    level = log_level or str(getattr(settings, "log_level", "INFO"))
    configure_logging(name, level=level)
    provider = configure_tracing(name, version)
    metrics = server_metrics(latency_buckets)

    app = FastAPI(
        title=title or name,
        version=version,
        description=description,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry layer would make a second span, metric and log
        # record per request beside this stack's (`instrument_app`, the middleware).
        telemetry=NO_NATIVE_TELEMETRY,
    )
    app.state.service_name = name
    app.state.settings = settings
    app.state.slos = list(slos)
    app.state.readiness_checks = list(readiness_checks)
    app.state.shutdown_grace_s = shutdown_grace_s

    @app.get("/livez", include_in_schema=False)
    async def livez() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        ready, body = await run_checks(request.app.state.readiness_checks)
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        payload, content_type = render_latest()
        return Response(payload, media_type=content_type)

    app.add_exception_handler(ProblemError, handle_problem)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_unexpected)
    for exc_type, mapping in (errors or {}).items():
        app.add_exception_handler(exc_type, _mapped_handler(mapping))
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, continue_traces=not exporting())
    # Innermost (appended, not add_middleware's outermost): its 408s and 413s are
    # measured and logged like every other answer.
    app.user_middleware.append(Middleware(BodyLimitMiddleware, limits=body_limits or BodyLimits()))
    secrets = [secret.encode() for secret in identity_secrets if secret]
    if secrets:
        # Inside the body limits: the body it reads is capped and timed like any other.
        always_open = {"/livez", "/readyz", "/metrics", app.docs_url, app.openapi_url}
        app.user_middleware.append(
            Middleware(
                VerifyIdentity,
                secrets=secrets,
                open_paths={path for path in (*always_open, *open_paths) if path},
            )
        )
    instrument_app(app, provider)
    return app


def _mapped_handler(mapping: ErrorMapping) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        problem = (
            ProblemError(mapping, detail=str(exc)) if isinstance(mapping, int) else mapping(exc)
        )
        return await handle_problem(request, problem)

    return handler


def serve(
    app: str | Callable[..., Any],
    *,
    host: str,
    port: int,
    factory: bool = False,
    workers: int = 1,
    shutdown_grace_s: float = DEFAULT_SHUTDOWN_GRACE_S,
    limits: ServerLimits | None = None,
) -> None:
    """Run an app under uvicorn with graceful shutdown and edge limits.

    On SIGTERM/SIGINT uvicorn stops accepting connections, lets in-flight requests
    finish for up to `shutdown_grace_s`, then runs the lifespan shutdown. Pass an
    import string (`"svc.app:create_app"`, `factory=True`) to use several workers.
    With `SERVER_LISTEN_FD` set it serves the inherited socket instead of binding.
    `limits` (`observability.edge.ServerLimits`) caps request heads at 32 KiB, closes a
    connection that has not sent a whole head within 5 s, and trusts no proxy's
    `X-Forwarded-For` unless named. Once the app is built, the garbage collector is
    tuned for a long-lived server (`observability.heap`).
    """
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    options: dict[str, Any] = {
        "factory": factory,
        "workers": workers,
        "timeout_graceful_shutdown": math.ceil(shutdown_grace_s),
        "access_log": False,
        "log_config": None,
        "server_header": False,
        **(limits or ServerLimits()).uvicorn_options(),
    }
    inherited = inherited_socket()
    if workers > 1:
        # uvicorn's supervisor starts the workers and each builds its own app, so their
        # heaps keep CPython's defaults; workers share a descriptor, not a socket object.
        listen = {"fd": inherited.detach()} if inherited else {"host": host, "port": port}
        uvicorn.run(app, **listen, **options)
        return
    config = uvicorn.Config(app, **({} if inherited else {"host": host, "port": port}), **options)
    config.load()  # import and build the app here, so start-up's heap can be frozen
    heap.settle_after_startup()
    server = uvicorn.Server(config)
    server.run(sockets=[inherited] if inherited else None)
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # as uvicorn.run does: the lifespan failed


class ServedSettings(Protocol):
    """What `run_service` reads from a service's `Settings`."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


def run_service(
    app_factory: str, settings: ServedSettings, *, limits: ServerLimits | None = None
) -> None:
    """A service's `python -m <name>`: `serve` the `"<name>.app:create_app"` factory on
    its settings' `host` and `port` (and `shutdown_grace_s`, if it has one).

    `limits` defaults to `ServerLimits.internal()`: every service but the gateway is
    reached only through the gateway, which bounded the request heads already.
    """
    serve(
        app_factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        shutdown_grace_s=float(getattr(settings, "shutdown_grace_s", DEFAULT_SHUTDOWN_GRACE_S)),
        limits=limits or ServerLimits.internal(),
    )


def inherited_socket() -> socket.socket | None:
    """The listening socket named by `SERVER_LISTEN_FD`, if any.

    Built from the descriptor so its family is the one the kernel reports (uvicorn's own
    `fd=` takes every descriptor for AF_UNIX, and asyncio then never sets TCP_NODELAY
    on the connections it accepts: each response waits on a delayed ACK, ~40 ms).
    """
    inherited = os.environ.get(LISTEN_FD_VAR)
    return None if inherited is None else socket.socket(fileno=int(inherited))
