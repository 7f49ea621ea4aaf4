"""create_app against a real uvicorn process: probes, ids, errors, metrics, traces."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tools.procs import ServerProcess

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def test_livez_answers_without_calling_dependencies(base_url: str) -> None:
    httpx.post(f"{base_url}/admin/readiness/fail")
    try:
        response = httpx.get(f"{base_url}/livez")
    finally:
        httpx.post(f"{base_url}/admin/readiness/ok")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_inbound_request_id_is_echoed(base_url: str) -> None:
    response = httpx.get(f"{base_url}/items/7", headers={"X-Request-ID": "req-abc.123"})

    assert response.headers["x-request-id"] == "req-abc.123"


def test_request_id_is_created_when_absent_or_unsafe(base_url: str) -> None:
    created = httpx.get(f"{base_url}/items/7")
    replaced = httpx.get(f"{base_url}/items/7", headers={"X-Request-ID": "bad id\twith spaces"})

    assert len(created.headers["x-request-id"]) == 32
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


def test_http_error_is_problem_json_with_request_id(base_url: str) -> None:
    response = httpx.get(f"{base_url}/items/404", headers={"X-Request-ID": "r-404"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://errors.example/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "no such item",
        "request_id": "r-404",
    }


def test_unknown_route_is_problem_json(base_url: str) -> None:
    response = httpx.get(f"{base_url}/no/such/route")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not Found"


def test_method_not_allowed_lists_every_method_of_the_path(base_url: str) -> None:
    response = httpx.put(f"{base_url}/items/7")  # GET and DELETE are separate routes

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert allowed == {"GET", "DELETE"}


def test_validation_error_is_422_with_field_paths(base_url: str) -> None:
    response = httpx.post(f"{base_url}/items", json={"name": "", "quantity": -1})

    body = response.json()
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert {error["path"] for error in body["errors"]} == {"body.name", "body.quantity"}


@pytest.mark.parametrize(
    ("kind", "status", "detail"),
    [("out", 409, "none left"), ("sold", 409, "sold out"), ("slow", 429, "too many orders")],
)
def test_domain_exceptions_are_answered_from_the_services_one_map(
    base_url: str, kind: str, status: int, detail: str
) -> None:
    response = httpx.post(f"{base_url}/orders/{kind}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == detail
    assert response.json()["request_id"] == response.headers["x-request-id"]
    if kind == "slow":
        assert response.headers["retry-after"] == "3"


def test_unhandled_exception_is_500_without_internals(base_url: str) -> None:
    response = httpx.get(f"{base_url}/boom", headers={"X-Request-ID": "r-boom"})

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == "r-boom"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


def test_metrics_label_routes_by_template_not_raw_path(base_url: str) -> None:
    for item_id in (11, 12, 13):
        httpx.get(f"{base_url}/items/{item_id}")

    text = httpx.get(f"{base_url}/metrics").text

    assert 'http_route="/items/{item_id}"' in text
    assert 'http_route="/items/11"' not in text
    assert "http_server_active_requests" in text


def test_metrics_and_probes_are_not_in_openapi(base_url: str) -> None:
    paths = httpx.get(f"{base_url}/openapi.json").json()["paths"]

    assert "/metrics" not in paths
    assert "/livez" not in paths
    assert "/items/{item_id}" in paths


def test_inbound_deadline_reaches_the_handler(base_url: str) -> None:
    response = httpx.get(f"{base_url}/deadline", headers={"X-Request-Deadline-Ms": "1500"})

    remaining = response.json()["remaining"]
    assert 0 < remaining <= 1.5


def test_expired_deadline_is_left_to_the_app_to_refuse_after_admission(base_url: str) -> None:
    response = httpx.get(f"{base_url}/deadline", headers={"X-Request-Deadline-Ms": "0"})

    assert response.status_code == 200
    assert response.json()["remaining"] <= 0


def _late_504s(base_url: str) -> tuple[float, float]:
    """(504s of /late in the SLI histogram, those counted as the caller's own deadline)."""
    families = {
        f.name: f for f in text_string_to_metric_families(httpx.get(f"{base_url}/metrics").text)
    }
    in_histogram = sum(
        s.value
        for s in families["http_server_request_duration_seconds"].samples
        if s.name.endswith("_count")
        and s.labels["http_route"] == "/late"
        and s.labels["http_response_status_code"] == "504"
    )
    deadline = families.get("http_server_client_deadline_exceeded")
    by_client = sum(
        s.value
        for s in (deadline.samples if deadline else [])
        if s.name.endswith("_total") and s.labels["http_route"] == "/late"
    )
    return in_histogram, by_client


def test_a_504_after_the_callers_own_deadline_is_not_in_the_sli_histogram(base_url: str) -> None:
    histogram, by_client = _late_504s(base_url)

    response = httpx.get(f"{base_url}/late", headers={"X-Request-Deadline-Ms": "0"})

    assert response.status_code == 504
    assert _late_504s(base_url) == (histogram, by_client + 1)


def test_a_504_within_the_callers_deadline_counts_as_an_error(base_url: str) -> None:
    histogram, by_client = _late_504s(base_url)

    response = httpx.get(f"{base_url}/late", headers={"X-Request-Deadline-Ms": "60000"})

    assert response.status_code == 504
    assert _late_504s(base_url) == (histogram + 1, by_client)


def test_traceparent_is_continued_in_the_log_line(
    sample: tuple[ServerProcess, str], base_url: str
) -> None:
    process, _ = sample
    # Not through httpx: an app built in this test process (create_app) instruments
    # httpx process-wide, and its client span would replace the traceparent sent here.
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request(
            "GET", "/items/21", headers={"traceparent": TRACEPARENT, "X-Request-ID": "r-trace"}
        )
        connection.getresponse().read()
    finally:
        connection.close()

    line = json.loads(
        process.wait_for_line(lambda text: '"request_id": "r-trace"' in text and '"route"' in text)
    )

    assert line["trace_id"] == TRACE_ID
    assert line["service"] == "sample"
    assert line["route"] == "/items/{item_id}"


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_readiness_is_503_naming_the_failing_check(base_url: str, mode: str) -> None:
    httpx.post(f"{base_url}/admin/readiness/{mode}")
    try:
        response = httpx.get(f"{base_url}/readyz", timeout=5)
    finally:
        httpx.post(f"{base_url}/admin/readiness/ok")

    assert response.status_code == 503
    assert response.json()["failing"] == ["dependency"]
    assert httpx.get(f"{base_url}/readyz").status_code == 200
