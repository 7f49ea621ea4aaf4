"""JSON logs: one object per line, stdlib callers' structured fields included."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime

import pytest
import structlog

from observability import logs


def test_fields_passed_as_stdlib_extra_reach_the_json_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # restored afterwards
    monkeypatch.setattr(logs, "_configured_service", None)
    logs.configure_logging("logs-test", json=True)

    logging.getLogger("some.library").warning("slow call", extra={"upstream": "remote"})

    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "slow call"
    assert line["upstream"] == "remote"
    assert line["service"] == "logs-test"


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(logs, "_configured_service", None)
    monkeypatch.setattr(logs, "_access", logs._access)


def test_the_access_line_carries_the_request_context_and_the_common_fields(
    capsys: pytest.CaptureFixture[str], configured: None
) -> None:
    logs.configure_logging("access-test", json=True)

    with structlog.contextvars.bound_contextvars(request_id="r-1", caller="alice"):
        logs.access_log("info", method="GET", route="/items/{id}", status=200, duration_ms=1.5)

    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line == {
        "event": "request",
        "method": "GET",
        "route": "/items/{id}",
        "status": 200,
        "duration_ms": 1.5,
        "request_id": "r-1",
        "caller": "alice",
        "level": "info",
        "time": line["time"],
        "service": "access-test",
    }
    assert line["time"].endswith("Z")


def test_access_lines_below_the_configured_level_are_dropped(
    capsys: pytest.CaptureFixture[str], configured: None
) -> None:
    logs.configure_logging("access-test", level="WARNING", json=True)

    logs.access_log("info", method="GET", route="/a", status=200, duration_ms=1.0)
    logs.access_log("warning", method="GET", route="/b", status=503, duration_ms=1.0)

    lines = [json.loads(text) for text in capsys.readouterr().out.strip().splitlines()]
    assert [(line["route"], line["level"]) for line in lines] == [("/b", "warning")]


def test_an_access_field_json_cannot_encode_is_written_as_its_repr(
    capsys: pytest.CaptureFixture[str], configured: None
) -> None:
    logs.configure_logging("access-test", json=True)

    logs.access_log("info", method="GET", route="/a", status=200, duration_ms=1.0, odd={1, 2})

    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["odd"] == "{1, 2}"


class _CountingStream:
    """A stream that records its lines and tells when it is flushed."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.flushes = 0
        self.flushed = asyncio.get_running_loop().create_future()

    def write(self, text: str) -> int:
        self.lines.append(text)
        return len(text)

    def flush(self) -> None:
        self.flushes += 1
        if not self.flushed.done():
            self.flushed.set_result(len(self.lines))


async def test_access_lines_inside_an_event_loop_share_one_flush() -> None:
    stream = _CountingStream()
    writer = logs.JsonAccessLine("flush-test", logging.INFO, stream)  # type: ignore[arg-type]

    for route in ("/a", "/b", "/c"):
        writer("info", {"route": route, "status": 200})
    flushes_right_after = stream.flushes
    lines_at_flush = await asyncio.wait_for(stream.flushed, timeout=10)

    assert flushes_right_after == 0
    assert lines_at_flush == 3
    assert [json.loads(line)["route"] for line in stream.lines] == ["/a", "/b", "/c"]


def test_a_line_in_a_new_loop_is_flushed_when_the_last_loop_closed_with_a_flush_pending() -> None:
    streams: list[_CountingStream] = []

    class Shared:
        """One stream across loops, handing each flush to the current loop's counter."""

        def write(self, text: str) -> int:
            return streams[-1].write(text)

        def flush(self) -> None:
            streams[-1].flush()

    writer = logs.JsonAccessLine("flush-test", logging.INFO, Shared())  # type: ignore[arg-type]

    async def write_and_leave() -> None:
        streams.append(_CountingStream())
        writer("info", {"route": "/first-loop", "status": 200})

    async def write_and_wait_for_the_flush() -> int:
        streams.append(_CountingStream())
        writer("info", {"route": "/second-loop", "status": 200})
        return await asyncio.wait_for(streams[-1].flushed, timeout=10)

    asyncio.run(write_and_leave())  # closes with its flush still pending: dropped
    lines_at_flush = asyncio.run(write_and_wait_for_the_flush())

    assert streams[0].flushes == 0
    assert lines_at_flush == 1


def test_an_access_line_outside_an_event_loop_is_flushed_at_once() -> None:
    class Stream(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            Stream.flushes += 1

    writer = logs.JsonAccessLine("flush-test", logging.INFO, Stream())

    writer("info", {"route": "/a", "status": 200})

    assert Stream.flushes == 1


async def test_an_unbuffered_stdout_gets_access_lines_in_one_write_and_in_order_with_other_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under PYTHONUNBUFFERED (every container image) sys.stdout writes through; the
    lines of `configure_logging` go through a buffer of their own on the same pipe."""
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    unbuffered = io.TextIOWrapper(io.FileIO(write_end, "w"), write_through=True)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # restored afterwards
    monkeypatch.setattr(logs, "_configured_service", None)
    monkeypatch.setattr(logs, "_access", logs._access)
    monkeypatch.setattr(sys, "stdout", unbuffered)
    try:
        logs.configure_logging("unbuffered-test", json=True)
        logs.access_log("info", route="/a", status=200)
        logs.access_log("info", route="/b", status=200)
        with pytest.raises(BlockingIOError):  # nothing written through yet
            os.read(read_end, 65536)
        logging.getLogger("some.library").warning("after the access lines")
        events = [
            json.loads(line).get("route", json.loads(line)["event"])
            for line in os.read(read_end, 65536).decode().splitlines()
        ]
    finally:
        os.close(read_end)
        logs._buffered_streams.pop(write_end).close()
        unbuffered.close()

    assert events == ["/a", "/b", "after the access lines"]


def test_the_access_line_time_is_iso_8601_utc_to_the_microsecond_across_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instants = iter([1_796_290_000_999_999_999, 1_796_290_001_000_000_500])
    monkeypatch.setattr(time, "time_ns", lambda: next(instants))

    first, second = logs._utc_timestamp(), logs._utc_timestamp()

    assert first == "2026-12-03T09:26:40.999999Z"
    assert second == "2026-12-03T09:26:41.000000Z"
    assert datetime.fromisoformat(second) == datetime(2026, 12, 3, 9, 26, 41, tzinfo=UTC)
