"""Every policy passes on every resource the dev and prod programs register, and each one
fires on a resource that breaks it."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.policy.policies import POLICIES, TAGGABLE_TYPES
from tests.fixtures.stacks import registry_run
from tests.infra.mocking import ProgramRun, Registered


def _opts(r: Registered) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        r.protect, [], r.delete_before_replace, [], PolicyCustomTimeouts(0, 0, 0), []
    )


def _violations(resources: list[Registered]) -> list[tuple[str, str, str]]:
    """Run the real PolicyPack policies (as the analyzer would) over `resources`."""
    found: list[tuple[str, str, str]] = []
    policy_resources = {
        r.urn: PolicyResource(r.type, r.inputs, r.urn, r.name, _opts(r), None, None, [], {})
        for r in resources
    }
    for r in resources:
        policy_resources[r.urn].property_dependencies = {
            k: [policy_resources[u] for u in urns if u in policy_resources]
            for k, urns in r.property_dependencies.items()
        }
    for policy in POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(r.type, r.inputs, r.urn, r.name, _opts(r), None)
                policy.validate(
                    args, lambda msg, urn, p=policy, r=r: found.append((p.name, r.urn, msg))
                )
        elif isinstance(policy, StackValidationPolicy):
            args = StackValidationArgs(list(policy_resources.values()))
            policy.validate(args, lambda msg, urn, p=policy: found.append((p.name, urn or "", msg)))
    return found


def test_every_policy_passes_on_every_registered_resource(stack_run: ProgramRun) -> None:
    assert _violations(stack_run.resources) == []


def test_every_policy_passes_on_the_registry_stack() -> None:
    assert _violations(registry_run().resources) == []


def test_the_tag_policy_knows_every_taggable_type_the_program_declares(
    stack_run: ProgramRun,
) -> None:
    assert stack_run.taggable_types <= TAGGABLE_TYPES


def _broken(
    run: ProgramRun, type_: str, change: Any, stack: str | None = None, **options: bool
) -> list[Registered]:
    """The run's resources with one resource of `type_` changed by `change(inputs)` (and
    its options by `options`)."""
    out = []
    done = False
    for r in run.resources:
        if r.type == type_ and not done:
            inputs = copy.deepcopy(r.inputs)
            change(inputs)
            urn = r.urn.replace(f":{run.stack}::", f":{stack}::") if stack else r.urn
            r = replace(r, inputs=inputs, urn=urn, **options)
            done = True
        out.append(r)
    assert done, type_
    return out


def _pop(*path: str) -> Any:
    def change(inputs: dict[str, Any]) -> None:
        target = inputs
        for key in path[:-1]:
            target = target[key]
        target.pop(path[-1], None)

    return change


def _set(value: Any, *path: str) -> Any:
    def change(inputs: dict[str, Any]) -> None:
        target = inputs
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _first_container(inputs: dict[str, Any]) -> dict[str, Any]:
    return inputs["spec"]["template"]["spec"]["containers"][0]


NEGATIVE_CASES = [
    ("dynamodb-pitr-sse", "aws:dynamodb/table:Table", _pop("pointInTimeRecovery")),
    (
        "dynamodb-pitr-sse",
        "aws:dynamodb/table:Table",
        _set(False, "serverSideEncryption", "enabled"),
    ),
    ("rds-encrypted-private", "aws:rds/instance:Instance", _set(False, "storageEncrypted")),
    ("rds-encrypted-private", "aws:rds/instance:Instance", _set(True, "publiclyAccessible")),
    ("ecr-scan-immutable", "aws:ecr/repository:Repository", _set("MUTABLE", "imageTagMutability")),
    (
        "ecr-scan-immutable",
        "aws:ecr/repository:Repository",
        _set(False, "imageScanningConfiguration", "scanOnPush"),
    ),
    ("required-tags", "aws:ec2/vpc:Vpc", _pop("tags", "owner")),
    ("required-tags", "aws:s3/bucket:Bucket", _pop("tags")),
    (
        "s3-private-encrypted",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        _set(False, "blockPublicPolicy"),
    ),
    (
        "s3-private-encrypted",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        _set([], "rules"),
    ),
    (
        "k8s-containers-hardened",
        "kubernetes:apps/v1:Deployment",
        lambda i: (
            _first_container(i)["securityContext"].pop("runAsNonRoot")
            and i["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot")
        ),
    ),
    (
        "k8s-containers-hardened",
        "kubernetes:apps/v1:Deployment",
        lambda i: _first_container(i).pop("resources"),
    ),
    (
        "k8s-containers-hardened",
        "kubernetes:apps/v1:Deployment",
        lambda i: _first_container(i).pop("readinessProbe"),
    ),
    (
        "k8s-images-pinned",
        "kubernetes:apps/v1:Deployment",
        lambda i: _first_container(i).update(image="123.dkr.ecr.x/platform/gateway:latest"),
    ),
    ("eks-endpoint-restricted", "eks:index:Cluster", _set(["0.0.0.0/0"], "publicAccessCidrs")),
    ("eks-endpoint-restricted", "eks:index:Cluster", _pop("publicAccessCidrs")),
    ("eks-network-policy-enforced", "eks:index:Cluster", _pop("vpcCniOptions")),
    ("log-groups-expire", "aws:cloudwatch/logGroup:LogGroup", _pop("retentionInDays")),
    ("eks-standard-support", "eks:index:Cluster", _set("1.33", "version")),
    ("eks-standard-support", "eks:index:Cluster", _pop("upgradePolicy")),
    ("alarms-routed", "aws:cloudwatch/metricAlarm:MetricAlarm", _pop("alarmActions")),
    (
        "k8s-images-pinned",
        "kubernetes:apps/v1:Deployment",
        lambda i: _first_container(i).update(image="123.dkr.ecr.x/platform/gateway:0123abc"),
    ),
]


@pytest.mark.parametrize(
    ("policy", "type_", "change"),
    NEGATIVE_CASES,
    ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(NEGATIVE_CASES)],
)
def test_each_policy_fires_on_a_resource_that_breaks_it(
    dev: ProgramRun, policy: str, type_: str, change: Any
) -> None:
    run = registry_run() if type_.startswith("aws:ecr/") else dev
    found = _violations(_broken(run, type_, change))
    assert found
    assert {name for name, _, _ in found} == {policy}


@pytest.mark.parametrize(
    ("type_", "field"),
    [
        ("aws:rds/instance:Instance", "deletionProtection"),
        ("aws:dynamodb/table:Table", "deletionProtectionEnabled"),
        ("eks:index:Cluster", "deletionProtection"),
    ],
)
def test_prod_deletion_protection_fires_only_in_prod(
    dev: ProgramRun, type_: str, field: str
) -> None:
    unprotected = _set(False, field)
    assert _violations(_broken(dev, type_, unprotected)) == []  # dev may delete
    found = _violations(_broken(dev, type_, unprotected, stack="prod", protect=True))
    assert {name for name, _, _ in found} == {"prod-deletion-protection"}


def _unchanged(inputs: dict[str, Any]) -> None:
    return None


@pytest.mark.parametrize(
    "type_",
    [
        "aws:kms/key:Key",
        "aws:dynamodb/table:Table",
        "aws:s3/bucket:Bucket",
        "aws:rds/instance:Instance",
    ],
)
def test_prod_data_protected_fires_on_unprotected_prod_data(prod: ProgramRun, type_: str) -> None:
    found = _violations(_broken(prod, type_, _unchanged, protect=False))
    assert {name for name, _, _ in found} == {"prod-data-protected"}


@pytest.mark.parametrize(
    "type_",
    ["aws:rds/instance:Instance", "aws:iam/role:Role", "aws:dynamodb/table:Table"],
)
def test_a_fixed_physical_name_without_delete_before_replace_is_a_violation(
    dev: ProgramRun, type_: str
) -> None:
    found = _violations(_broken(dev, type_, _unchanged, delete_before_replace=False))
    assert {name for name, _, _ in found} == {"named-resources-delete-before-replace"}
