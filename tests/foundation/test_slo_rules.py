"""`tools/slo_rules.py` renders each service's rules from that service's own slos module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from observability.slo import render_prometheus_rule
from tests.fixtures.slos import declared_slos, scraped_slos
from tools.slo_rules import write


def test_rule_files_hold_the_slos_of_every_scraped_services_own_module(tmp_path: Path) -> None:
    rule_files, _, _ = write(tmp_path, tests=False)

    written = {p.name.removesuffix(".rules.yml"): yaml.safe_load(p.read_text()) for p in rule_files}
    assert written == {
        service: render_prometheus_rule(service, slos)["spec"]
        for service, slos in scraped_slos().items()
    }


def test_slos_modules_load_without_the_web_stack() -> None:
    # Infra and the rule generator import them; the catalog's must suit its Lambda too.
    services = sorted(declared_slos())
    probe = (
        f"import sys; [__import__(s + '.slos') for s in {services!r}]; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'fastapi', 'starlette', 'pydantic', 'uvicorn', 'strawberry'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
