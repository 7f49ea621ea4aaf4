"""users routes: the original's `GET /users`, `POST /user`, `POST /upload`, plus the
RESTful ones. Bodies are validated strictly (unknown fields → 422) and avatars judged
by their bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError
from starlette.datastructures import UploadFile as StarletteUploadFile

from identity import caller as verified_caller
from identity import require_caller
from observability import ProblemError
from users.repository import DuplicateEmail, UserNotFound, UserRecord, decode_cursor
from users.service import UserService

# With PLATFORM_IDENTITY_SECRET set, every route needs the gateway's signed identity (401).
router = APIRouter(dependencies=[Depends(require_caller)])
FORM_FIELDS = frozenset({"name", "email", "avatar"})
SAFE_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr


class User(BaseModel):
    id: str
    name: str
    email: str
    avatar_url: str | None = Field(
        description="this service's avatar route (302 to a short-lived presigned URL)"
    )
    created_at: str


class FileUrl(BaseModel):
    file_url: str


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such user"}}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"description": "DynamoDB or S3 unreachable"}}
AVATAR_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "avatar larger than 5 MiB"},
    415: {"description": "avatar is not a PNG, JPEG, GIF or WebP image (judged by content)"},
}


def _owner_for_create(request: Request) -> str | None:
    """Who the new user belongs to; anonymous callers may not create users."""
    who = verified_caller(request)
    if who is None:
        return None
    if who.is_anonymous:
        raise ProblemError(
            401, detail="sign in to create a user", headers={"WWW-Authenticate": "Api-Key, Bearer"}
        )
    return who.subject


def _authorizer(request: Request) -> Callable[[UserRecord], None]:
    """A caller may change only the users it created; admins may change any."""
    who = verified_caller(request)

    def authorize(user: UserRecord) -> None:
        if who is None or who.is_admin:
            return
        if who.is_anonymous or user.owner != who.subject:
            raise ProblemError(403, detail="you may only change your own user")

    return authorize


def _service(request: Request) -> UserService:
    return request.app.state.users


def _prefix(request: Request) -> str:
    """Path prefix the edge mounted us under (the gateway sends `X-Forwarded-Prefix`)."""
    prefix = request.headers.get("x-forwarded-prefix", "").rstrip("/")
    return prefix if SAFE_PREFIX.match(prefix) else ""


def _avatar_path(request: Request, user_id: str) -> str:
    return f"{_prefix(request)}/users/{user_id}/avatar"


def _public(request: Request, user: UserRecord) -> dict[str, Any]:
    return User(
        id=user.id,
        name=user.name,
        email=user.email,
        avatar_url=_avatar_path(request, user.id) if user.avatar_key else None,
        created_at=user.created_at,
    ).model_dump()


def _validation_error(error: ValidationError, where: str) -> RequestValidationError:
    details = error.errors(include_url=False, include_context=False)
    return RequestValidationError(
        [{**detail, "loc": (where, *detail["loc"])} for detail in details]
    )


async def _parse_create(request: Request) -> tuple[UserCreate, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            payload = await request.json()
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json parses
            raise ProblemError(400, detail="the body is not valid JSON") from None
        try:
            return UserCreate.model_validate(payload), None
        except ValidationError as error:
            raise _validation_error(error, "body") from None
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form(max_files=1, max_fields=len(FORM_FIELDS))
        unknown = sorted(set(form.keys()) - FORM_FIELDS)
        if unknown:
            raise RequestValidationError(
                [
                    {"type": "extra_forbidden", "loc": ("body", name), "msg": "unknown field"}
                    for name in unknown
                ]
            )
        fields = {name: form[name] for name in ("name", "email") if name in form}
        if any(not isinstance(value, str) for value in fields.values()):
            raise ProblemError(422, detail="name and email must be text fields")
        avatar = form.get("avatar")
        if avatar is not None and not isinstance(avatar, StarletteUploadFile):
            raise ProblemError(422, detail="avatar must be a file")
        try:
            return UserCreate.model_validate(fields), avatar
        except ValidationError as error:
            raise _validation_error(error, "body") from None
    raise ProblemError(415, detail="send application/json or multipart/form-data")


CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": UserCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["name", "email"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 200},
                        "email": {"type": "string", "format": "email"},
                        "avatar": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    }
}


@router.get("/users", response_model=list[User], responses=UNAVAILABLE)
async def list_users(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> list[dict[str, Any]]:
    """Users as a JSON array (as the original); the next page is in the `Link` header."""
    after = decode_cursor(cursor) if cursor else None
    users, next_cursor = await _service(request).users.page(limit, after)
    if next_cursor:
        query = urlencode({"limit": limit, "cursor": next_cursor})
        response.headers["Link"] = f'<{_prefix(request)}/users?{query}>; rel="next"'
    return [_public(request, user) for user in users]


@router.get("/users/{user_id}", response_model=User, responses={**NOT_FOUND, **UNAVAILABLE})
async def get_user(request: Request, user_id: Annotated[str, Path(max_length=64)]) -> Any:
    try:
        return _public(request, await _service(request).users.get(user_id))
    except UserNotFound:
        raise ProblemError(404, detail="no such user") from None


@router.post(
    "/user",
    status_code=201,
    response_model=User,
    openapi_extra=CREATE_BODY,
    responses={
        409: {"description": "email already registered"},
        **AVATAR_ERRORS,
        **UNAVAILABLE,
    },
)
async def create_user(request: Request) -> JSONResponse:
    """Create a user from JSON `{name, email}` or a form with an optional `avatar` file."""
    body, avatar = await _parse_create(request)
    try:
        user = await _service(request).create(
            body.name,
            body.email,
            avatar.file if avatar is not None else None,
            owner=_owner_for_create(request),
        )
    except DuplicateEmail:
        raise ProblemError(409, detail="a user with this email already exists") from None
    location = f"{_prefix(request)}/users/{user.id}"
    return JSONResponse(_public(request, user), status_code=201, headers={"Location": location})


async def _replace_avatar(request: Request, user_id: str, file: UploadFile) -> JSONResponse:
    """Both avatar routes: store the file, answer 201 with where to read it."""
    try:
        user = await _service(request).replace_avatar(user_id, file.file, _authorizer(request))
    except UserNotFound:
        raise ProblemError(404, detail="no such user") from None
    url = _avatar_path(request, user.id)
    return JSONResponse({"file_url": url}, status_code=201, headers={"Location": url})


AVATAR_FILE = File(description="PNG, JPEG, GIF or WebP, at most 5 MiB")
AVATAR_ROUTE: dict[str, Any] = {
    "status_code": 201,
    "response_model": FileUrl,
    "responses": {**NOT_FOUND, **AVATAR_ERRORS, **UNAVAILABLE},
}


@router.post("/upload", **AVATAR_ROUTE)
async def upload(
    request: Request,
    file: Annotated[UploadFile, AVATAR_FILE],
    user_id: Annotated[str, Form(min_length=1, max_length=64)],
) -> JSONResponse:
    """The original's upload route: set `user_id`'s avatar; `file_url` is where to read it."""
    return await _replace_avatar(request, user_id, file)


@router.put("/users/{user_id}/avatar", **AVATAR_ROUTE)
async def put_avatar(
    request: Request,
    user_id: Annotated[str, Path(max_length=64)],
    file: Annotated[UploadFile, AVATAR_FILE],
) -> JSONResponse:
    """Set or replace the avatar (the previous object is deleted)."""
    return await _replace_avatar(request, user_id, file)


@router.get(
    "/users/{user_id}/avatar",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "to a presigned S3 URL"}, **NOT_FOUND, **UNAVAILABLE},
)
async def get_avatar(request: Request, user_id: Annotated[str, Path(max_length=64)]) -> Response:
    """Redirect to a short-lived presigned URL of the private object."""
    service = _service(request)
    try:
        user = await service.users.get(user_id)
    except UserNotFound:
        raise ProblemError(404, detail="no such user") from None
    if not user.avatar_key:
        raise ProblemError(404, detail="this user has no avatar")
    url = await service.avatars.presigned_url(user.avatar_key)
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "private, no-store"})


@router.delete("/users/{user_id}", status_code=204, responses={**NOT_FOUND, **UNAVAILABLE})
async def delete_user(request: Request, user_id: Annotated[str, Path(max_length=64)]) -> Response:
    """Delete the user, its email claim and its avatar."""
    try:
        await _service(request).delete(user_id, _authorizer(request))
    except UserNotFound:
        raise ProblemError(404, detail="no such user") from None
    return Response(status_code=204)
