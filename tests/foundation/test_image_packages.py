"""services/local_packages.py: which in-repo packages services/Dockerfile installs per image."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "services" / "local_packages.py"


def packages(root: Path, service: str) -> subprocess.CompletedProcess[str]:
    # Run as the builder stage runs it: a script, stdlib only (-I: no site-packages).
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(root), service],
        capture_output=True,
        text=True,
        check=False,
    )


def write_project(path: Path, *dependencies: str) -> None:
    path.mkdir(parents=True)
    listed = ", ".join(f'"{dependency}"' for dependency in dependencies)
    (path / "pyproject.toml").write_text(
        f'[project]\nname = "{path.name}"\ndependencies = [{listed}]\n'
    )


def test_libs_come_transitively_before_the_service_each_once(tmp_path: Path) -> None:
    write_project(tmp_path / "libs" / "base")
    write_project(tmp_path / "libs" / "middle", "base>=1")
    write_project(tmp_path / "libs" / "unused")
    write_project(tmp_path / "services" / "svc", "middle[extra]", "base", "httpx>=0.28")

    result = packages(tmp_path, "svc")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        str(tmp_path / "libs" / "base"),
        str(tmp_path / "libs" / "middle"),
        str(tmp_path / "services" / "svc"),
    ]


def test_an_unknown_service_fails_the_build(tmp_path: Path) -> None:
    write_project(tmp_path / "libs" / "base")
    (tmp_path / "services").mkdir()

    result = packages(tmp_path, "nope")

    assert result.returncode != 0
    assert "no service 'nope'" in result.stderr


@pytest.mark.parametrize("service", ["catalog", "remote"])
def test_a_service_on_observability_alone_still_gets_the_libs_observability_needs(
    service: str,
) -> None:
    result = packages(ROOT, service)

    assert result.returncode == 0, result.stderr
    listed = result.stdout.split()
    assert listed[-1] == str(ROOT / "services" / service)
    # identity is observability's dependency, not the service's: it still comes, first.
    assert listed.index(str(ROOT / "libs" / "identity")) < listed.index(
        str(ROOT / "libs" / "observability")
    )
