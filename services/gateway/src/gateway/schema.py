"""The GraphQL schema: the original's `hello` and `invoke`, fields only ever added.

Failures reach clients as GraphQL errors whose `extensions.code` is one of
UPSTREAM_UNAVAILABLE, CIRCUIT_OPEN, DEADLINE_EXCEEDED, BAD_INPUT (INTERNAL_ERROR for a
bug), with the request id in `extensions.requestId`.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult, Info

from gateway.invoke import ErrorCode, InvokeError, InvokeService


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
    async def invoke(self, input: str, info: Info) -> InvokeResult:
        service: InvokeService = info.context["request"].app.state.invoke_service
        try:
            result = await service.invoke(input)
        except InvokeError as error:
            raise GraphQLError(str(error), extensions={"code": error.code.value}) from error
        return InvokeResult(
            latency_ms=result.latency_ms, output=result.output, cached=result.cached
        )


# Clients send the same few documents over and over: parse and validate each once.
schema = strawberry.Schema(
    query=Query,
    extensions=[ParserCache(maxsize=512), ValidationCache(maxsize=512)],  # pyright: ignore[reportArgumentType]
)


class GatewayGraphQLRouter(GraphQLRouter[Any, Any]):
    """Adds `extensions.code` and `extensions.requestId` to every error."""

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = process_result(result)
        request_id = request.scope.get("state", {}).get("request_id")
        formatted: list[dict[str, Any]] = list(response.get("errors") or [])  # type: ignore[arg-type]
        for original, error in zip(result.errors or [], formatted, strict=False):
            extensions: dict[str, Any] = dict(error.get("extensions") or {})
            if "code" not in extensions:
                if original.original_error is not None:
                    extensions["code"] = "INTERNAL_ERROR"
                    error["message"] = "internal error"  # never leak a bug's message
                else:  # syntax or validation error: the query itself is wrong
                    extensions["code"] = ErrorCode.BAD_INPUT.value
            extensions["requestId"] = request_id
            error["extensions"] = extensions
        if formatted:
            response["errors"] = formatted  # type: ignore[typeddict-item]
        return response


def graphql_router() -> GatewayGraphQLRouter:
    return GatewayGraphQLRouter(schema, graphql_ide="graphiql")
