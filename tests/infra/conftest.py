"""The dev and prod programs, each built once per test process under Pulumi mocks.

Stack config comes from the real Pulumi.<stack>.yaml (plus what CI passes: imageTag),
read through `infra.config.load()` exactly as `pulumi up` would.
"""

from __future__ import annotations

import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.mocking import ProgramRun, run_program

ROOT = Path(__file__).resolve().parents[2]

# pulumi_aws warns at import about every deprecated class it ships (none used here).
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulumi_aws\..*")


# Where charts come from is each organisation's choice (CI passes it); tests use stand-ins.
HELM_REPOSITORIES = {
    chart: f"https://charts.example.test/{chart}"
    for chart in (
        "aws-load-balancer-controller",
        "metrics-server",
        "kube-prometheus-stack",
        "external-secrets",
        "reloader",
    )
}


def stack_config(stack: str, **overrides: Any) -> dict[str, Any]:
    """`Pulumi.<stack>.yaml`'s config with keys as the engine passes them (`ns:key`)."""
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {
        **raw,
        "platform:imageTag": "0123abc",
        "platform:helmRepositories": HELM_REPOSITORIES,
        **{f"platform:{k}": v for k, v in overrides.items()},
    }


def _catalog_zip() -> Path:
    """A stand-in for what `make lambda-zip` builds: the program refuses to deploy without
    the zip rather than ship a placeholder."""
    path = Path(tempfile.mkdtemp(prefix="infra-tests-")) / "catalog.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("catalog/__init__.py", "")
        archive.writestr("catalog/handler.py", "def lambda_handler(event, context): ...\n")
    return path


CATALOG_ZIP = _catalog_zip()


@pytest.fixture(autouse=True, scope="session")
def _built_catalog_zip() -> None:
    """Every program run in these tests deploys the stand-in zip."""
    from infra.components import catalog

    catalog.ZIP = CATALOG_ZIP


def build_stack(stack: str, **overrides: Any) -> ProgramRun:
    from infra.config import load
    from infra.program import build

    return run_program(stack, stack_config(stack, **overrides), lambda: build(load()))


def registry_run() -> ProgramRun:
    """The registry stack's program (infra/registry) under mocks, from its committed file."""
    from infra.config import load_registry
    from infra.registry_program import build_registry

    if "registry" not in _RUNS:
        raw = yaml.safe_load((ROOT / "infra" / "registry" / "Pulumi.shared.yaml").read_text())
        _RUNS["registry"] = run_program(
            "shared",
            raw["config"],
            lambda: build_registry(load_registry()),
            project="platform-registry",
        )
    return _RUNS["registry"]


_RUNS: dict[str, ProgramRun] = {}


def _cached(stack: str) -> ProgramRun:
    if stack not in _RUNS:
        _RUNS[stack] = build_stack(stack)
    return _RUNS[stack]


@pytest.fixture(scope="session")
def dev() -> ProgramRun:
    return _cached("dev")


@pytest.fixture(scope="session")
def prod() -> ProgramRun:
    return _cached("prod")


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack_run(request: pytest.FixtureRequest) -> ProgramRun:
    return _cached(request.param)
