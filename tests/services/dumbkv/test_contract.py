"""The dumbkv API contract, on SQLite and Postgres alike (one behavioural suite)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import httpx

from tests.fixtures.dumbkv import KV
from tests.fixtures.fuzz import run_schemathesis
from tests.fixtures.polling import wait_until_sync


def key() -> str:
    return f"k-{uuid.uuid4().hex}"


def test_written_value_reads_back_with_an_etag(kv: KV) -> None:
    k = key()
    written = kv.put(k, "hello wörld")

    read = kv.get(k)

    assert written.status_code == 200
    assert written.json() == {"status": "success"}
    assert read.status_code == 200
    assert read.json() == {"value": "hello wörld"}
    assert read.headers["etag"] == '"v1"'


def test_writing_an_existing_key_is_409_and_keeps_the_value(kv: KV) -> None:
    k = key()
    kv.put(k, "first")

    second = kv.put(k, "second")

    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert kv.get(k).json() == {"value": "first"}


def test_reading_a_missing_key_is_404_problem(kv: KV) -> None:
    response = kv.get(key())

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_write_without_value_is_422(kv: KV) -> None:
    assert kv.put(key(), None).status_code == 422


def test_key_and_database_limits_are_422(kv: KV) -> None:
    assert kv.put("", "v").status_code == 422
    assert kv.put("k" * 1025, "v").status_code == 422
    assert kv.put(key(), "v", database=2**31).status_code == 422
    assert kv.put(key(), "v", database=-1).status_code == 422
    assert kv.put("k" * 1024, "v", database=2**31 - 1).status_code == 200


def test_value_over_one_mib_is_413(kv: KV) -> None:
    k = key()

    response = kv.put(k, "x" * (1024 * 1024 + 1))

    assert response.status_code == 413
    assert kv.get(k).status_code == 404
    assert kv.put(k, "x" * (1024 * 1024)).status_code == 200


def test_chunked_body_over_the_cap_is_413_problem(kv: KV) -> None:
    # A read ignores `value`, so only the body cap can refuse this one; with no
    # Content-Length the cap must hold while the body streams in.
    body = json.dumps({"key": key(), "value": "x" * (3 * 1024 * 1024)}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = httpx.post(
        f"{kv.url}/kv", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_delete_is_idempotent(kv: KV) -> None:
    k = key()
    kv.put(k, "v")

    assert kv.delete(k).json() == {"status": "success"}
    assert kv.delete(k).status_code == 200
    assert kv.get(k).status_code == 404


def test_databases_are_separate_namespaces(kv: KV) -> None:
    k = key()
    kv.put(k, "zero", database=0)
    kv.put(k, "one", database=1)

    assert kv.get(k, database=0).json() == {"value": "zero"}
    assert kv.get(k, database=1).json() == {"value": "one"}


def test_compare_and_set_with_if_match(kv: KV) -> None:
    k = key()
    kv.put(k, "v1")

    updated = kv.put(k, "v2", headers={"If-Match": '"v1"'})
    stale = kv.put(k, "v3", headers={"If-Match": '"v1"'})

    assert updated.status_code == 200
    assert updated.headers["etag"] == '"v2"'
    assert stale.status_code == 412
    assert kv.get(k).json() == {"value": "v2"}


def test_compare_and_set_with_version_field_and_overwrite(kv: KV) -> None:
    k = key()
    kv.put(k, "a")

    assert kv.put(k, "b", version=1).status_code == 200
    assert kv.put(k, "c", version=1).status_code == 412
    assert kv.put(k, "d", params={"overwrite": "true"}).status_code == 200
    assert kv.get(k).json() == {"value": "d"}


def test_value_expires_after_its_ttl(kv: KV) -> None:
    k = key()
    # Long enough that the first read comes before the expiry on a loaded CI machine
    # (0.2 s was not: the read came late and found it gone).
    kv.put(k, "short-lived", ttl_s=1.5)
    first = kv.get(k).status_code

    wait_until_sync(lambda: kv.get(k).status_code == 404, within=10, interval=0.05)

    assert first == 200
    assert kv.put(k, "again").status_code == 200  # an expired key can be written anew


def test_health_checks_the_database(kv: KV) -> None:
    assert httpx.get(f"{kv.url}/health").json() == {"status": "healthy"}
    assert httpx.get(f"{kv.url}/readyz").status_code == 200


async def test_fifty_concurrent_cas_writers_have_exactly_one_winner(kv: KV) -> None:
    k = key()
    kv.put(k, "start")
    async with httpx.AsyncClient(base_url=kv.url, timeout=30) as client:

        async def writer(i: int, version: int) -> int:
            response = await client.put(
                "/kv", json={"key": k, "value": f"w{i}"}, headers={"If-Match": f'"v{version}"'}
            )
            return response.status_code

        for version in (1, 2):
            statuses = await asyncio.gather(*(writer(i, version) for i in range(50)))
            assert statuses.count(200) == 1
            assert statuses.count(412) == 49

    assert kv.get(k).headers["etag"] == '"v3"'


def test_openapi_fuzzing_finds_no_server_error(kv: KV) -> None:
    run_schemathesis(kv.url, max_examples=30)


def _is_problem(response: httpx.Response, status: int) -> bool:
    return response.status_code == status and response.headers["content-type"] == (
        "application/problem+json"
    )


def test_a_version_beyond_64_bits_is_422_and_writes_nothing(kv: KV) -> None:
    k = key()

    response = kv.put(k, "v", version=2**63)

    assert _is_problem(response, 422)
    assert kv.get(k).status_code == 404


def test_an_if_match_beyond_64_bits_or_of_foreign_digits_is_400(kv: KV) -> None:
    k = key()
    kv.put(k, "kept")

    # Header bytes arrive as Latin-1: b"\xb2" is "²", which str.isdigit() accepts.
    for tag in (f'"v{2**63}"'.encode(), '"v²"'.encode("latin-1")):
        response = kv.put(k, "other", headers={"If-Match": tag})
        assert _is_problem(response, 400), (tag, response.text)
    assert kv.get(k).json() == {"value": "kept"}


def test_a_lone_surrogate_in_a_key_or_value_is_422(kv: KV) -> None:
    k = key()
    # Escaped in the JSON text, so the body itself is valid UTF-8.
    value_body = '{"key": "' + k + '", "value": "\\ud800"}'
    key_body = '{"key": "k-\\udfff", "value": "v"}'

    for body in (value_body, key_body):
        response = httpx.put(
            f"{kv.url}/kv", content=body, headers={"content-type": "application/json"}
        )
        assert _is_problem(response, 422), (body, response.text)
    assert kv.get(k).status_code == 404
