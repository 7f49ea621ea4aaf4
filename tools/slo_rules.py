"""Every service's SLO rules as plain Prometheus rule files, and promtool's verdict on them.

    python -m tools.slo_rules write DIR   # <service>.rules.yml + <service>.test.yml
    python -m tools.slo_rules check       # promtool check rules + promtool test rules

The SLOs are each service's `<service>.slos.SLOS`, the one definition that its app
serves, that infra renders into PrometheusRule objects (`render_prometheus_rule`) and
that the tests here come from (`observability.slo_tests`).
`check` prints how many rule files and alert cases passed; it exits non-zero on any
failure, and when promtool is missing (`scripts/test-infra.sh` installs Debian's
`prometheus`, which ships it).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

import dumbkv.slos
import gateway.slos
import predictor.slos
import remote.slos
import users.slos
from observability.slo import SLO, render_prometheus_rule
from observability.slo_tests import (
    count_alert_cases,
    count_expr_cases,
    render_rule_tests,
    unreachable_alerts,
)


def service_slos() -> dict[str, tuple[SLO, ...]]:
    """Each service's SLOs, from its own `<service>.slos` module: the same tuple its app
    serves on /slo and infra renders into its PrometheusRule. Not the catalog's: a Lambda
    nobody scrapes, measured by CloudWatch (`catalog/slos.py`)."""
    return {
        "gateway": gateway.slos.SLOS,
        "dumbkv": dumbkv.slos.SLOS,
        "predictor": predictor.slos.SLOS,
        "users": users.slos.SLOS,
        "remote": remote.slos.SLOS,
    }


def write(directory: Path, *, tests: bool = True) -> tuple[list[Path], list[Path], tuple[int, int]]:
    """Writes the rule files (and, with `tests`, promtool's test files); returns them and
    the numbers of alert and recording-rule cases."""
    directory.mkdir(parents=True, exist_ok=True)
    rule_files, test_files, alerts, records = [], [], 0, 0
    for service, slos in service_slos().items():
        rules = directory / f"{service}.rules.yml"
        rules.write_text(yaml.safe_dump(render_prometheus_rule(service, slos)["spec"]))
        rule_files.append(rules)
        if not tests:
            continue
        cases = render_rule_tests(service, slos, rules.name)
        test_file = directory / f"{service}.test.yml"
        test_file.write_text(yaml.safe_dump(cases, sort_keys=False, width=120))
        test_files.append(test_file)
        alerts += count_alert_cases(cases)
        records += count_expr_cases(cases)
    return rule_files, test_files, (alerts, records)


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        raise SystemExit("slo-rules: promtool not found (scripts/test-infra.sh installs it)")
    return found


def check() -> int:
    with tempfile.TemporaryDirectory() as folder:
        rule_files, test_files, (alerts, records) = write(Path(folder))
        binary = promtool()
        for command in (
            [binary, "check", "rules", *map(str, rule_files)],
            [binary, "test", "rules", *map(str, test_files)],
        ):
            result = subprocess.run(command, cwd=folder, capture_output=True, text=True)  # noqa: S603
            if result.returncode != 0:
                print(result.stdout + result.stderr, file=sys.stderr)
                return 1
    unreachable = [a for s, slos in service_slos().items() for a in unreachable_alerts(s, slos)]
    print(
        f"slo-rules: promtool check rules: {len(rule_files)} rule files ok; "
        f"promtool test rules: {alerts} alert cases and {records} recording-rule cases passed"
    )
    if unreachable:
        print(f"slo-rules: alerts no error ratio can fire (budget too large): {unreachable}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check")
    write_command = commands.add_parser("write")
    write_command.add_argument("directory", type=Path)
    args = parser.parse_args()
    if args.command == "write":
        write(args.directory)
        return 0
    return check()


if __name__ == "__main__":
    raise SystemExit(main())
