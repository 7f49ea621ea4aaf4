"""dumbkv routes: the original's paths and bodies, with clear 4xx instead of 500s.

Routes parse and call `dumbkv.kv`; what its exceptions answer is `ERRORS`, the one map
(passed to `create_app` by `dumbkv.app`).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from dumbkv.crypto import DecryptionError
from dumbkv.deps import KV, Store
from dumbkv.kv import ValueTooLarge, VersionMismatch
from dumbkv.store import MAX_VERSION, Conflict, NotFound, StoreUnavailable
from dumbkv.tenancy import SignInRequired
from dumbkv.ui import PAGE
from observability import ProblemError
from observability.app import ErrorMapping
from observability.lean import LeanRoute
from resilience import REQUEST_FAULT, REQUEST_FAULT_HEADER

# With PLATFORM_IDENTITY_SECRET set, every route needs the gateway's signed identity (401).
# Every route takes `Store`, which requires a verified caller. LeanRoute: the data path
# skips FastAPI's own request machinery (observability.lean), answers unchanged.
router = APIRouter(route_class=LeanRoute)
# The UI page itself holds no data; the calls it makes go through `router`.
pages = APIRouter()
MAX_DATABASE = 2**31 - 1
# The request body cap (create_app's BodyLimits, chunked bodies too): a 1 MiB value
# fits even with JSON escapes.
BODY_LIMIT = 2 * 1024 * 1024 + 4096
# ASCII digits only (str.isdigit() also takes "²" and "٣"), at most a BIGINT's 19.
_IF_MATCH = re.compile(r'(?:W/)?"?v([0-9]{1,19})"?')


def _tampered(_error: Exception) -> ProblemError:
    # A fault of this one stored row, not of the service: marked so that reads of it
    # never open the gateway's breaker for every other caller (see libs/resilience).
    return ProblemError(
        500,
        detail="the stored value failed its integrity check",
        headers={REQUEST_FAULT_HEADER: REQUEST_FAULT},
    )


ERRORS: dict[type[Exception], ErrorMapping] = {
    NotFound: lambda _: ProblemError(404, detail="no value for this key in this database"),
    Conflict: lambda _: ProblemError(
        409, detail="a value already exists for this key; use ?overwrite=true or If-Match"
    ),
    # A Conflict too, but of a compare-and-set: the precondition failed.
    VersionMismatch: lambda _: ProblemError(
        412, detail="the value changed (or is gone) since that version"
    ),
    ValueTooLarge: 413,
    StoreUnavailable: lambda _: ProblemError(
        503, detail="the database is unavailable", headers={"Retry-After": "1"}
    ),
    DecryptionError: _tampered,
    SignInRequired: lambda error: ProblemError(
        401, detail=str(error), headers={"WWW-Authenticate": "Api-Key, Bearer"}
    ),
}


def _utf8(text: str) -> str:
    # JSON may escape a lone surrogate ("\ud800"): a valid body, but no UTF-8 to hash or
    # encrypt, so it is refused here rather than failing deep in the crypto.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from error
    return text


Text = Annotated[str, AfterValidator(_utf8)]


class KVRequest(BaseModel):
    """The original body: `{"database": int = 0, "key": str, "value": str | null}`."""

    model_config = ConfigDict(extra="forbid")

    database: int = Field(default=0, ge=0, le=MAX_DATABASE)
    key: Text = Field(min_length=1, max_length=1024)
    value: Text | None = None
    version: int | None = Field(
        default=None, ge=1, le=MAX_VERSION, description="compare-and-set: expected version"
    )
    ttl_s: float | None = Field(default=None, gt=0, le=10 * 365 * 86400, description="expiry")


class ValueResponse(BaseModel):
    value: str


class StatusResponse(BaseModel):
    status: str


def _etag(version: int) -> str:
    return f'"v{version}"'


def _parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    match = _IF_MATCH.fullmatch(value.strip())
    if match is None or int(match[1]) > MAX_VERSION:
        raise ProblemError(400, detail='If-Match must be an ETag from this service, like "v3"')
    return int(match[1])


@pages.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> str:
    return PAGE


@router.post(
    "/kv",
    response_model=ValueResponse,
    responses={404: {"description": "no such key"}, 503: {"description": "database down"}},
)
async def read(body: KVRequest, store: Store) -> JSONResponse:
    stored = await store.kv.read(body.database, body.key, tenant=store.tenant_of(body.database))
    return JSONResponse({"value": stored.value}, headers={"ETag": _etag(stored.version)})


@router.put(
    "/kv", response_model=StatusResponse, responses={409: {}, 412: {}, 413: {}, 422: {}, 503: {}}
)
async def write(
    body: KVRequest,
    store: Store,
    overwrite: Annotated[bool, Query(description="replace an existing value")] = False,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    tenant = store.tenant_of(body.database)
    if body.value is None:
        raise ProblemError(422, detail="`value` is required to write", errors=[
            {"path": "body.value", "message": "Field required", "type": "missing"}])  # fmt: skip
    expected = body.version if body.version is not None else _parse_if_match(if_match)
    version = await store.kv.write(
        body.database, body.key, body.value, tenant=tenant,
        expected_version=expected, overwrite=overwrite, ttl_s=body.ttl_s,
    )  # fmt: skip
    return JSONResponse({"status": "success"}, headers={"ETag": _etag(version)})


@router.delete("/kv", response_model=StatusResponse, responses={503: {}})
async def delete(body: KVRequest, store: Store) -> JSONResponse:
    await store.kv.delete(body.database, body.key, tenant=store.tenant_of(body.database))
    return JSONResponse({"status": "success"})


# Open like the original's, so monitors written for it keep working (an open path of
# the app's identity check, see dumbkv.app); it tells only whether the database answers.
@pages.get(
    "/health", response_model=StatusResponse, responses={503: {"description": "database down"}}
)
async def health(kv: KV) -> StatusResponse:
    try:
        await kv.store.ping()
    except StoreUnavailable as error:
        # Its own answer, not ERRORS' (no Retry-After): a health check's 503 is its
        # result, not a request to try again.
        raise ProblemError(503, detail="the database does not answer") from error
    return StatusResponse(status="healthy")
