"""The dev and prod programs, each built once per test process under Pulumi mocks.

Stack config comes from the real Pulumi.<stack>.yaml (plus what CI passes: imageTag),
read through `infra.config.load()` exactly as `pulumi up` would.
"""

from __future__ import annotations

import warnings

import pytest

from tests.fixtures.stacks import CATALOG_ZIP, built_stack
from tests.infra.mocking import ProgramRun

# pulumi_aws warns at import about every deprecated class it ships (none used here).
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulumi_aws\..*")


@pytest.fixture(autouse=True, scope="session")
def _built_catalog_zip() -> None:
    """Every program run in these tests deploys the stand-in zip."""
    from infra.components import catalog

    catalog.ZIP = CATALOG_ZIP


@pytest.fixture(scope="session")
def dev() -> ProgramRun:
    return built_stack("dev")


@pytest.fixture(scope="session")
def prod() -> ProgramRun:
    return built_stack("prod")


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack_run(request: pytest.FixtureRequest) -> ProgramRun:
    return built_stack(request.param)
