"""JSON logs: one object per line, stdlib callers' structured fields included."""

from __future__ import annotations

import json
import logging

import pytest

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
