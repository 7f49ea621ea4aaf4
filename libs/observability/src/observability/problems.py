"""RFC 9457 problem details: one error shape for every service.

Domain code raises domain exceptions; a service's `api.py` maps them to
`ProblemError` (or FastAPI's `HTTPException`), and `create_app` renders all of them,
validation errors and unhandled exceptions as `application/problem+json`.
"""

from __future__ import annotations

from http import HTTPMethod, HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemError(Exception):
    """An HTTP error rendered as RFC 9457 problem details.

    `type` defaults to "about:blank" (the title is then the HTTP status phrase);
    extra keyword arguments become extension members of the body.
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        type: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title or str(status))
        self.status = status
        self.title = title or _phrase(status)
        self.detail = detail
        self.type = type
        self.headers = headers
        self.extensions = extensions


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    type: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A `JSONResponse` with media type application/problem+json."""
    body: dict[str, Any] = {"type": type, "title": title or _phrase(status), "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update(extensions)
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _with_request_id(request: Request, headers: dict[str, str] | None) -> dict[str, str]:
    merged = dict(headers or {})
    request_id = _request_id(request)
    if request_id:
        merged.setdefault("X-Request-ID", request_id)
    return merged


async def handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        exc.title,
        exc.detail,
        type=exc.type,
        headers=_with_request_id(request, exc.headers),
        request_id=_request_id(request),
        **exc.extensions,
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path answers (RFC 9110 §15.5.6: `Allow` lists them
    all); Starlette names only those of the first route that matched the path. Each
    method is asked of the router itself, so included routers count as they route."""
    routes = request.app.router.routes
    return [
        method.value
        for method in HTTPMethod
        if any(
            route.matches({**request.scope, "type": "http", "method": method.value})[0]
            is Match.FULL
            for route in routes
        )
    ]


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    extensions: dict[str, Any] = {}
    if exc.detail is not None and not isinstance(exc.detail, str):
        extensions["errors"] = exc.detail
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers["Allow"] = ", ".join(allowed)
    return problem_response(
        exc.status_code,
        detail=detail,
        headers=_with_request_id(request, headers),
        request_id=_request_id(request),
        **extensions,
    )


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "path": ".".join(str(part) for part in error.get("loc", ())),
            "message": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    return problem_response(
        422,
        "Unprocessable Content",
        "The request failed validation; see `errors` for each field.",
        headers=_with_request_id(request, None),
        request_id=_request_id(request),
        errors=errors,
    )


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log (by the middleware), never into the body.
    return problem_response(
        500,
        detail="An unexpected error occurred; quote the request id when reporting it.",
        headers=_with_request_id(request, None),
        request_id=_request_id(request),
    )
