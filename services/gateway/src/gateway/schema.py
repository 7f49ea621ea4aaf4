"""The GraphQL schema: the original's `hello` and `invoke`, fields only ever added.

Failures reach clients as GraphQL errors whose `extensions.code` is one of
UPSTREAM_UNAVAILABLE, CIRCUIT_OPEN, DEADLINE_EXCEEDED, BAD_INPUT (INTERNAL_ERROR for a
bug), with the request id in `extensions.requestId`.

Abuse limits (validated before anything runs, so a rejected query never reaches the
remote): a query size cap, a depth limit, and token and alias limits — each failure a
GraphQL error with code BAD_INPUT. The depth limit skips introspection fields, which
strawberry bounds with graphql-core's MaxIntrospectionDepthRule (and the token limit).
A request that is not a GraphQL request at all (not JSON, not an object, nested too
deeply to parse) is a 400 problem+json, as every other route's bad request.

The HTTP side (the router at `contract.GRAPHQL_PATH`, its error shaping, the context each request
gets) is declared in `gateway.api` and `gateway.deps`; here are the types, the
resolvers and the limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypedDict

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import Info

from gateway.invoke import ErrorCode, InvokeError, InvokeService
from identity import Identity


class Context(TypedDict):
    """What each request hands the resolvers (built by `gateway.deps.graphql_context`)."""

    invoke_service: InvokeService
    caller: Identity  # the caller the edge guard admitted


@strawberry.type(description="What the remote service answered.")
class InvokeResult:
    latency_ms: int
    output: str
    cached: bool = strawberry.field(
        description="True when served from the last good answer while the remote is down."
    )


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "Hello World"

    @strawberry.field
    async def invoke(self, input: str, info: Info[Context, None]) -> InvokeResult:
        context = info.context
        try:
            result = await context["invoke_service"].invoke(input, caller=context["caller"])
        except InvokeError as error:
            raise GraphQLError(str(error), extensions={"code": error.code.value}) from error
        return InvokeResult(
            latency_ms=result.latency_ms, output=result.output, cached=result.cached
        )


@dataclass(frozen=True)
class QueryLimits:
    """Defaults: 10 KiB per query document, depth 10, 1000 tokens, 10 aliases."""

    max_bytes: int = 10 * 1024
    max_depth: int = 10
    max_tokens: int = 1000
    max_aliases: int = 10


class QuerySizeLimiter(SchemaExtension):
    """Refuses a query document longer than `max_bytes` before it is even parsed."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def on_operation(self) -> Iterator[None]:
        query = self.execution_context.query or ""
        if len(query.encode()) > self.max_bytes:
            raise GraphQLError(
                f"query document larger than {self.max_bytes} bytes",
                extensions={"code": ErrorCode.BAD_INPUT.value},
            )
        yield


def build_schema(limits: QueryLimits) -> strawberry.Schema:
    # Factories: each request gets fresh extensions (they hold per-request state); the
    # parse and validation caches live at module level in strawberry, shared by all.
    # The depth and alias limiters are validation rules, and the validation cache is
    # keyed by the rule classes: a limiter built per request makes new classes each
    # time, so nothing ever hit the cache (19 % of the gateway's CPU under load went to
    # validating the same document again). Their rules are built once, here.
    limiter_rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    extensions: list[Any] = [
        lambda: QuerySizeLimiter(max_bytes=limits.max_bytes),  # first: before any parsing
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: AddValidationRules(limiter_rules),
        # Clients send the same few documents over and over: parse and validate each once.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]
    return strawberry.Schema(query=Query, extensions=extensions)


schema = build_schema(QueryLimits())
