"""The handler's HTTP contract, against a real table on the moto server."""

from __future__ import annotations

import io
import json
from typing import cast

import pytest

from catalog.handler import Catalog
from tests.fixtures.catalog import event_v1, event_v2

EXPECTED_ORDER = ["Claude 3 Opus", "GPT-4", "Gemini 1.5 Pro", "Llama 3 70B"]


@pytest.mark.parametrize("make_event", [event_v2, event_v1], ids=["payload-2.0", "payload-1.0"])
def test_list_returns_every_model_sorted_by_score_desc(catalog: Catalog, make_event) -> None:
    response = catalog(make_event("/llms"))

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    body = json.loads(response["body"])
    assert [m["model_name"] for m in body] == EXPECTED_ORDER
    assert body[1] == {
        "model_name": "GPT-4",
        "provider": "OpenAI",
        "context_window": 128000,
        "score": 95.5,
    }


def test_numbers_are_typed_int_and_float_on_the_wire(catalog: Catalog) -> None:
    body = catalog(event_v2("/llms"))["body"]

    assert '"context_window":128000,' in body  # not 128000.0, not "128000"
    assert '"score":96.0' in body
    assert all(type(m["context_window"]) is int for m in json.loads(body))


@pytest.mark.parametrize("make_event", [event_v2, event_v1], ids=["payload-2.0", "payload-1.0"])
def test_provider_filter_is_case_insensitive(catalog: Catalog, make_event) -> None:
    response = catalog(make_event("/llms", query={"provider": "anthropic"}))

    assert [m["model_name"] for m in json.loads(response["body"])] == ["Claude 3 Opus"]


def test_unknown_provider_gives_an_empty_list(catalog: Catalog) -> None:
    response = catalog(event_v2("/llms", query={"provider": "Nobody"}))

    assert (response["statusCode"], json.loads(response["body"])) == (200, [])


def test_one_model_by_percent_encoded_name(catalog: Catalog) -> None:
    response = catalog(event_v2("/llms/Claude%203%20Opus"))

    assert response["statusCode"] == 200
    assert json.loads(response["body"])["context_window"] == 200000


def test_one_model_by_name_in_payload_1_0(catalog: Catalog) -> None:
    response = catalog(event_v1("/llms/Llama 3 70B"))

    assert json.loads(response["body"])["score"] == 89.5


def test_unknown_model_is_a_404_problem(catalog: Catalog) -> None:
    response = catalog(event_v2("/llms/GPT-5"))

    assert response["statusCode"] == 404
    assert response["headers"]["content-type"] == "application/problem+json"
    problem = json.loads(response["body"])
    assert (problem["status"], problem["title"]) == (404, "Not Found")


@pytest.mark.parametrize("path", ["/", "/models", "/llms/a/b", "/llmsx"])
def test_other_paths_are_404_problems(catalog: Catalog, path: str) -> None:
    response = catalog(event_v2(path))

    assert response["statusCode"] == 404
    assert response["headers"]["content-type"] == "application/problem+json"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/llms", "/llms/GPT-4"])
def test_other_methods_are_405_with_allow(catalog: Catalog, method: str, path: str) -> None:
    response = catalog(event_v2(path, method=method))

    assert response["statusCode"] == 405
    assert response["headers"]["allow"] == "GET, HEAD"
    assert response["headers"]["content-type"] == "application/problem+json"
    assert json.loads(response["body"])["status"] == 405


def test_matching_if_none_match_gives_304_without_body(catalog: Catalog) -> None:
    etag = catalog(event_v2("/llms"))["headers"]["etag"]

    response = catalog(event_v2("/llms", headers={"If-None-Match": etag}))

    assert response["statusCode"] == 304
    assert response["body"] == ""
    assert response["headers"]["etag"] == etag


def test_stale_if_none_match_gives_the_full_body(catalog: Catalog) -> None:
    response = catalog(event_v2("/llms", headers={"if-none-match": '"not-it"'}))

    assert response["statusCode"] == 200
    assert len(json.loads(response["body"])) == 4


def test_filtered_list_has_its_own_etag(catalog: Catalog) -> None:
    full = catalog(event_v2("/llms"))["headers"]["etag"]
    filtered = catalog(event_v2("/llms", query={"provider": "Meta"}))["headers"]["etag"]

    assert full != filtered


def test_responses_are_cacheable_by_cloudfront(catalog: Catalog) -> None:
    headers = catalog(event_v2("/llms"))["headers"]

    assert headers["cache-control"].startswith("public, max-age=60")
    assert headers["etag"].startswith('"')


def test_head_has_headers_and_no_body(catalog: Catalog) -> None:
    response = catalog(event_v2("/llms", method="HEAD"))

    assert (response["statusCode"], response["body"]) == (200, "")
    assert "etag" in response["headers"]


def test_named_stage_prefix_is_stripped(catalog: Catalog) -> None:
    response = catalog(event_v2("/prod/llms", stage="prod"))

    assert response["statusCode"] == 200


def test_a_malformed_event_is_answered_with_a_problem(catalog: Catalog) -> None:
    response = catalog({"version": "2.0", "rawPath": "/llms", "requestContext": {"http": "GET"}})

    assert response["statusCode"] == 500
    assert response["headers"]["content-type"] == "application/problem+json"


def test_each_invocation_logs_a_json_line_and_an_emf_document(catalog: Catalog) -> None:
    catalog(event_v2("/llms"))

    stream = cast(io.StringIO, catalog.telemetry.stream)  # the fixture logs to a StringIO
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    request = next(line for line in lines if line.get("event") == "request")
    emf = next(line for line in lines if "_aws" in line)
    assert (request["status"], request["cache"], request["cold_start"]) == (200, "MISS", True)
    assert emf["CacheMiss"] == 1
