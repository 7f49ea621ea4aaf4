"""Who may reach each stack: one account per stack, the CI roles' cluster access committed
in the stack files, and an API endpoint open only to known ranges (findings 3 and 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import ConfigError, from_mapping
from infra.render_manifests import stack_config
from tests.infra.mocking import ProgramRun

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def _access_entries(run: ProgramRun) -> dict[str, Any]:
    return run.one("eks:index:Cluster").inputs["accessEntries"]


def test_each_stack_has_its_own_account() -> None:
    accounts = {stack: stack_config(stack).account_id for stack in ("dev", "prod")}
    assert all(len(a) == 12 and a.isdigit() for a in accounts.values())
    assert accounts["dev"] != accounts["prod"]


def test_names_derive_from_the_configured_account_not_the_callers(stack_run: ProgramRun) -> None:
    account = stack_config(stack_run.stack).account_id
    assert stack_run.outputs["awsAccountId"] == account
    assert stack_run.outputs["avatarsBucket"].endswith(f"-avatars-{account}")


def test_the_ci_roles_get_cluster_access_from_the_committed_stack_files(
    stack_run: ProgramRun,
) -> None:
    cluster = stack_config(stack_run.stack).cluster
    entries = {e["principalArn"]: e for e in _access_entries(stack_run).values()}
    for arn in (cluster.preview_role_arn, *cluster.admin_role_arns):
        assert f":{stack_config(stack_run.stack).account_id}:role/" in arn
        policies = [p["policyArn"] for p in entries[arn]["accessPolicies"].values()]
        assert policies == [ADMIN]
    # CI's deploy role created the cluster: EKS made it admin, a second entry would fail.
    assert cluster.created_by_deploy_role
    assert cluster.deploy_role_arn not in entries


def test_a_cluster_created_by_someone_else_gives_the_deploy_role_its_own_entry() -> None:
    from tests.fixtures.stacks import build_stack

    cluster = {**_stack_file_cluster("dev"), "createdByDeployRole": False}
    run = build_stack("dev", cluster=cluster)

    entries = {e["principalArn"] for e in _access_entries(run).values()}
    assert stack_config("dev").cluster.deploy_role_arn in entries


def _stack_file_cluster(stack: str) -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return dict(raw["platform:cluster"])


def test_no_stack_opens_its_api_endpoint_to_the_internet(stack_run: ProgramRun) -> None:
    cidrs = stack_run.one("eks:index:Cluster").inputs["publicAccessCidrs"]
    assert cidrs
    assert "0.0.0.0/0" not in cidrs


def test_an_open_api_endpoint_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="publicAccessCidrs"):
        from_mapping(
            "platform", "dev", {"env": "dev", "cluster": {"publicAccessCidrs": ["0.0.0.0/0"]}}
        )


@pytest.mark.parametrize("workflow", ["preview.yml", "deploy.yml"])
def test_each_stack_runs_with_its_own_environment_and_reachable_runners(workflow: str) -> None:
    (job,) = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())[
        "jobs"
    ].values()
    assert "stack" in job["environment"]
    # The runner group whose static egress ranges are the stacks' publicAccessCidrs.
    assert job["runs-on"] == {"group": "platform-infra"}
