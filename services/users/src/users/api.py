"""users routes: the original's `GET /users`, `POST /user`, `POST /upload`, plus the
RESTful ones. Bodies are validated strictly (unknown fields → 422) and avatars judged
by their bytes. What the domain's exceptions answer is `ERRORS`, the one map (passed to
`create_app` by `users.app`).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError
from starlette.datastructures import UploadFile as StarletteUploadFile

from observability import ProblemError
from observability.app import ErrorMapping
from users.avatars import AvatarTooLarge, EmptyAvatar, NotAnImage
from users.aws import AwsUnavailable
from users.deps import Call, UsersCall
from users.repository import (
    DuplicateEmail,
    InvalidCursor,
    UserNotFound,
    UserRecord,
    decode_cursor,
)
from users.service import (
    Forbidden,
    NoAvatar,
    SignInRequired,
    owner_for_create,
)

# With PLATFORM_IDENTITY_SECRET set, every route needs the gateway's signed identity (401).
router = APIRouter()  # every route takes `Call`, which requires a verified caller
FORM_FIELDS = frozenset({"name", "email", "avatar"})

# A status answers with the exception's message as the detail.
ERRORS: dict[type[Exception], ErrorMapping] = {
    InvalidCursor: 400,
    SignInRequired: lambda error: ProblemError(
        401, detail=str(error), headers={"WWW-Authenticate": "Api-Key, Bearer"}
    ),
    Forbidden: 403,
    UserNotFound: lambda _: ProblemError(404, detail="no such user"),
    NoAvatar: 404,
    DuplicateEmail: lambda _: ProblemError(409, detail="a user with this email already exists"),
    AvatarTooLarge: 413,
    NotAnImage: 415,
    EmptyAvatar: 422,
    AwsUnavailable: lambda error: ProblemError(
        503, detail=str(error), headers={"Retry-After": "1"}
    ),
}


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


def _avatar_path(prefix: str, user_id: str) -> str:
    return f"{prefix}/users/{user_id}/avatar"


def _public(prefix: str, user: UserRecord) -> dict[str, Any]:
    return User(
        id=user.id,
        name=user.name,
        email=user.email,
        avatar_url=_avatar_path(prefix, user.id) if user.avatar_key else None,
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
    call: Call,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> list[dict[str, Any]]:
    """Users as a JSON array (as the original); the next page is in the `Link` header."""
    after = decode_cursor(cursor) if cursor else None
    users, next_cursor = await call.service.users.page(limit, after)
    if next_cursor:
        query = urlencode({"limit": limit, "cursor": next_cursor})
        response.headers["Link"] = f'<{call.prefix}/users?{query}>; rel="next"'
    return [_public(call.prefix, user) for user in users]


@router.get("/users/{user_id}", response_model=User, responses={**NOT_FOUND, **UNAVAILABLE})
async def get_user(call: Call, user_id: Annotated[str, Path(max_length=64)]) -> Any:
    return _public(call.prefix, await call.service.users.get(user_id))


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
async def create_user(request: Request, call: Call) -> JSONResponse:
    """Create a user from JSON `{name, email}` or a form with an optional `avatar` file."""
    body, avatar = await _parse_create(request)
    user = await call.service.create(
        body.name,
        body.email,
        avatar.file if avatar is not None else None,
        owner=owner_for_create(call.who),  # after the body: a bad body is 422 before a 401
    )
    location = f"{call.prefix}/users/{user.id}"
    return JSONResponse(_public(call.prefix, user), status_code=201, headers={"Location": location})


async def _replace_avatar(call: UsersCall, user_id: str, file: UploadFile) -> JSONResponse:
    """Both avatar routes: store the file, answer 201 with where to read it."""
    user = await call.service.replace_avatar(user_id, file.file, call.authorize)
    url = _avatar_path(call.prefix, user.id)
    return JSONResponse({"file_url": url}, status_code=201, headers={"Location": url})


AVATAR_FILE = File(description="PNG, JPEG, GIF or WebP, at most 5 MiB")
AVATAR_ROUTE: dict[str, Any] = {
    "status_code": 201,
    "response_model": FileUrl,
    "responses": {**NOT_FOUND, **AVATAR_ERRORS, **UNAVAILABLE},
}


@router.post("/upload", **AVATAR_ROUTE)
async def upload(
    call: Call,
    file: Annotated[UploadFile, AVATAR_FILE],
    user_id: Annotated[str, Form(min_length=1, max_length=64)],
) -> JSONResponse:
    """The original's upload route: set `user_id`'s avatar; `file_url` is where to read it."""
    return await _replace_avatar(call, user_id, file)


@router.put("/users/{user_id}/avatar", **AVATAR_ROUTE)
async def put_avatar(
    call: Call,
    user_id: Annotated[str, Path(max_length=64)],
    file: Annotated[UploadFile, AVATAR_FILE],
) -> JSONResponse:
    """Set or replace the avatar (the previous object is deleted)."""
    return await _replace_avatar(call, user_id, file)


@router.get(
    "/users/{user_id}/avatar",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "to a presigned S3 URL"}, **NOT_FOUND, **UNAVAILABLE},
)
async def get_avatar(call: Call, user_id: Annotated[str, Path(max_length=64)]) -> Response:
    """Redirect to a short-lived presigned URL of the private object."""
    url = await call.service.avatar_url(user_id)
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "private, no-store"})


@router.delete("/users/{user_id}", status_code=204, responses={**NOT_FOUND, **UNAVAILABLE})
async def delete_user(call: Call, user_id: Annotated[str, Path(max_length=64)]) -> Response:
    """Delete the user, its email claim and its avatar."""
    await call.service.delete(user_id, call.authorize)
    return Response(status_code=204)
