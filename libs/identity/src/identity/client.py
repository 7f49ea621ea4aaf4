"""Signing outgoing calls: `SignedCaller`, an httpx auth flow (the `client` extra).

Not imported by `identity` itself, so services that only verify (and catalog's local
adapter, whose image has no httpx) never need httpx.

    httpx.post(url, json=body, auth=SignedCaller(secret, who))
"""

from __future__ import annotations

from collections.abc import Generator

import httpx

from identity.signing import IDENTITY_HEADER, Identity, sign


class SignedCaller(httpx.Auth):
    """Signs `caller` into `X-Platform-Identity` on every request httpx sends.

    An auth flow sees the request as it will go on the wire (after httpx has encoded the
    URL), so the raw path, query and body signed are byte for byte what the service
    reads from ASGI `raw_path`, `query_string` and the body; and it runs again for each
    retry or hedge, each getting its own nonce and timestamp (a resent header would be
    refused as a replay).
    """

    requires_request_body = True

    def __init__(self, secret: bytes, caller: Identity) -> None:
        self._secret = secret
        self._caller = caller

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[IDENTITY_HEADER] = sign(
            self._secret,
            request.method,
            request.url.raw_path.partition(b"?")[0],
            self._caller,
            query=request.url.query,
            body=request.content,
        )
        yield request
