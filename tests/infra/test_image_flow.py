"""Images: one registry (its own stack) every stack pulls from, a required tag that is never
`latest`, and Deployments pinned to the digest the tag resolves to (findings 1 and 2)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import ConfigError, from_mapping, require_image_tag
from tests.fixtures.stacks import registry_run
from tests.infra.mocking import ProgramRun, digest_of

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def _workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _containers(run: ProgramRun) -> list[dict[str, Any]]:
    return [
        c
        for d in run.of_type("kubernetes:apps/v1:Deployment")
        for c in d.inputs["spec"]["template"]["spec"]["containers"]
    ]


def test_workload_stacks_declare_no_repositories_of_their_own(stack_run: ProgramRun) -> None:
    assert stack_run.of_type("aws:ecr/repository:Repository") == []


def test_every_container_pulls_from_the_registry_stack_by_digest(stack_run: ProgramRun) -> None:
    host = stack_run.one("pulumi:pulumi:StackReference").outputs["outputs"]["registryHost"]
    for container in _containers(stack_run):
        image, _, digest = container["image"].partition("@")
        repository = image.removeprefix(f"{host}/")
        assert repository != image, container["image"]
        assert digest == digest_of(repository, "0123abc"), container["image"]


def test_the_registry_stack_lets_every_stack_account_pull_and_resolve_tags() -> None:
    run = registry_run()
    repos = run.of_type("aws:ecr/repository:Repository")
    policies = {
        p.inputs["repository"]: p.inputs["policy"]
        for p in run.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")
    }
    assert {r.inputs["name"] for r in repos} == set(policies)
    accounts = set(run.outputs["pullAccountIds"])
    assert len(accounts) == 2
    for policy in policies.values():
        (statement,) = json.loads(policy)["Statement"]
        assert set(statement["Principal"]["AWS"]) == {f"arn:aws:iam::{a}:root" for a in accounts}
        assert {"ecr:BatchGetImage", "ecr:DescribeImages"} <= set(statement["Action"])


@pytest.mark.parametrize("tag", [None, "", "latest", "main"])
def test_a_deployment_needs_an_explicit_commit_or_release_tag(tag: str | None) -> None:
    cfg = from_mapping("platform", "dev", {"env": "dev"})
    with pytest.raises(ConfigError, match="imageTag"):
        require_image_tag(cfg if tag is None else replace(cfg, image_tag=tag))


def test_images_are_pushed_only_after_the_registry_stack_is_up() -> None:
    jobs = _workflow("images.yml")["jobs"]
    assert "registry" in jobs["build"]["needs"]
    registry = jobs["registry"]["steps"][-1]["with"]
    assert registry["work-dir"] == "infra/registry"
    # The CLI resolves the policy pack from the work dir: the same pack as the stacks.
    assert (
        ROOT / registry["work-dir"] / registry["policyPacks"]
    ).resolve() == ROOT / "infra/policy"
    # The repository prefix comes from the registry stack's output, not a second copy.
    tags = next(s for s in jobs["build"]["steps"] if s.get("id") == "tags")
    assert tags["env"]["ECR_PREFIX"] == "${{ needs.registry.outputs.prefix }}"
    assert registry_run().outputs["repositoryPrefix"] == "platform"


def test_previews_reuse_the_tag_the_stack_was_last_deployed_with() -> None:
    steps = _workflow("preview.yml")["jobs"]["preview"]["steps"]
    tag_step = next(s for s in steps if s.get("id") == "deployed")
    assert "pulumi stack output imageTag" in tag_step["run"]
    preview = steps[-1]["with"]
    assert "steps.deployed.outputs.image-tag" in preview["config-map"]


def test_the_deployed_tag_is_stored_as_a_stack_output(stack_run: ProgramRun) -> None:
    assert stack_run.outputs["imageTag"] == "0123abc"
