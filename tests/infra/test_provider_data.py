"""The mocked program's inputs are values AWS accepts: every enum and numeric range the
real API models (botocore's service models, shipped offline with boto3) declare for the
inputs below. Mocks accept anything; `pulumi up` would not."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from typing import Any

import pytest
from botocore.loaders import Loader

from tests.fixtures.stacks import registry_run
from tests.infra.mocking import ProgramRun

# Pulumi type -> (input path, "service Operation member.path" of the API); "*" is every
# element of a list.
CHECKS: dict[str, list[tuple[str, str]]] = {
    "aws:acm/certificate:Certificate": [
        ("validationMethod", "acm RequestCertificate ValidationMethod"),
    ],
    "aws:lambda/function:Function": [
        ("runtime", "lambda CreateFunction Runtime"),
        ("architectures.*", "lambda CreateFunction Architectures.*"),
        ("memorySize", "lambda CreateFunction MemorySize"),
        ("timeout", "lambda CreateFunction Timeout"),
        ("loggingConfig.logFormat", "lambda CreateFunction LoggingConfig.LogFormat"),
        (
            "reservedConcurrentExecutions",
            "lambda PutFunctionConcurrency ReservedConcurrentExecutions",
        ),
    ],
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": [
        (
            "provisionedConcurrentExecutions",
            "lambda PutProvisionedConcurrencyConfig ProvisionedConcurrentExecutions",
        ),
    ],
    "aws:dynamodb/table:Table": [
        ("billingMode", "dynamodb CreateTable BillingMode"),
        ("attributes.*.type", "dynamodb CreateTable AttributeDefinitions.*.AttributeType"),
    ],
    "aws:ecr/repository:Repository": [
        ("imageTagMutability", "ecr CreateRepository imageTagMutability"),
        (
            "encryptionConfigurations.*.encryptionType",
            "ecr CreateRepository encryptionConfiguration.encryptionType",
        ),
    ],
    "eks:index:Cluster": [
        ("enabledClusterLogTypes.*", "eks CreateCluster logging.clusterLogging.*.types.*"),
        ("upgradePolicy.supportType", "eks CreateCluster upgradePolicy.supportType"),
    ],
    "eks:index:ManagedNodeGroup": [
        ("amiType", "eks CreateNodegroup amiType"),
        ("capacityType", "eks CreateNodegroup capacityType"),
        ("instanceTypes.*", "ec2 RunInstances InstanceType"),
    ],
    "aws:eks/addon:Addon": [
        ("resolveConflictsOnUpdate", "eks UpdateAddon resolveConflicts"),
    ],
    "aws:cloudwatch/metricAlarm:MetricAlarm": [
        ("comparisonOperator", "cloudwatch PutMetricAlarm ComparisonOperator"),
        ("statistic", "cloudwatch PutMetricAlarm Statistic"),
        ("period", "cloudwatch PutMetricAlarm Period"),
        ("evaluationPeriods", "cloudwatch PutMetricAlarm EvaluationPeriods"),
    ],
    "aws:apigatewayv2/api:Api": [
        ("protocolType", "apigatewayv2 CreateApi ProtocolType"),
    ],
    "aws:apigatewayv2/integration:Integration": [
        ("integrationType", "apigatewayv2 CreateIntegration IntegrationType"),
        ("timeoutMilliseconds", "apigatewayv2 CreateIntegration TimeoutInMillis"),
    ],
    "aws:ec2/vpcEndpoint:VpcEndpoint": [
        ("vpcEndpointType", "ec2 CreateVpcEndpoint VpcEndpointType"),
    ],
    "aws:ec2/flowLog:FlowLog": [
        ("trafficType", "ec2 CreateFlowLogs TrafficType"),
        ("logDestinationType", "ec2 CreateFlowLogs LogDestinationType"),
    ],
    "aws:ec2/eip:Eip": [
        ("domain", "ec2 AllocateAddress Domain"),
    ],
    "aws:kms/key:Key": [
        ("deletionWindowInDays", "kms ScheduleKeyDeletion PendingWindowInDays"),
    ],
    "aws:efs/fileSystem:FileSystem": [
        ("performanceMode", "efs CreateFileSystem PerformanceMode"),
        ("throughputMode", "efs CreateFileSystem ThroughputMode"),
        (
            "lifecyclePolicies.*.transitionToIa",
            "efs PutLifecycleConfiguration LifecyclePolicies.*.TransitionToIA",
        ),
    ],
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": [
        (
            "rule.objectOwnership",
            "s3 PutBucketOwnershipControls OwnershipControls.Rules.*.ObjectOwnership",
        ),
    ],
    "aws:s3/bucketVersioning:BucketVersioning": [
        ("versioningConfiguration.status", "s3 PutBucketVersioning VersioningConfiguration.Status"),
    ],
}


@cache
def _model(service: str) -> dict[str, Any]:
    return Loader().load_service_model(service, "service-2")


def constraint(api: str) -> dict[str, Any]:
    """The botocore shape `"service Operation member.path"` of an input (enum, min, max)."""
    service, operation, path = api.split()
    model = _model(service)
    shapes = model["shapes"]
    shape = shapes[model["operations"][operation]["input"]["shape"]]
    for part in path.split("."):
        shape = shapes[(shape["member"] if part == "*" else shape["members"][part])["shape"]]
    return shape


def _checks() -> Iterator[tuple[str, tuple[str, ...], str]]:
    for type_, items in CHECKS.items():
        for path, api in items:
            yield type_, tuple(path.split(".")), api


def _values(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield value
    elif path[0] == "*":
        for item in value or []:
            yield from _values(item, path[1:])
    elif isinstance(value, dict) and value.get(path[0]) is not None:
        yield from _values(value[path[0]], path[1:])


def violations(run: ProgramRun) -> list[str]:
    found = []
    for type_, path, api in _checks():
        shape = constraint(api)
        for resource in run.of_type(type_):
            for value in _values(resource.inputs, path):
                where = f"{resource.name}.{'.'.join(path)}={value!r}"
                if "enum" in shape and value not in shape["enum"]:
                    found.append(f"{where}: not one of {api}")
                if "min" in shape and shape["type"] == "integer" and value < shape["min"]:
                    found.append(f"{where}: below {shape['min']}")
                if "max" in shape and shape["type"] == "integer" and value > shape["max"]:
                    found.append(f"{where}: above {shape['max']}")
    return found


def test_every_checked_input_has_an_enum_or_a_range_in_the_api_model() -> None:
    for _, _, api in _checks():
        shape = constraint(api)
        assert "enum" in shape or "min" in shape or "max" in shape, api


def test_the_checks_see_real_values_in_the_programs(dev: ProgramRun, prod: ProgramRun) -> None:
    runs = (dev, prod, registry_run())
    unseen = [
        (type_, path)
        for type_, path, _ in _checks()
        if not any(list(_values(r.inputs, path)) for run in runs for r in run.of_type(type_))
    ]
    assert unseen == []


def test_every_input_is_a_value_the_aws_api_accepts(stack_run: ProgramRun) -> None:
    assert violations(stack_run) == []
    assert violations(registry_run()) == []


@pytest.mark.parametrize(
    ("type_", "field", "bad"),
    [
        ("aws:lambda/function:Function", "runtime", "python3.99"),
        ("aws:lambda/function:Function", "memorySize", 64),
        ("aws:apigatewayv2/integration:Integration", "timeoutMilliseconds", 31000),
        ("eks:index:ManagedNodeGroup", "amiType", "AL2023_ARM64_STANDARD"),
    ],
)
def test_a_value_the_api_refuses_is_reported(
    dev: ProgramRun, type_: str, field: str, bad: Any
) -> None:
    resources = []
    for r in dev.resources:
        if r.type == type_:
            r = replace(r, inputs={**copy.deepcopy(r.inputs), field: bad})
        resources.append(r)
    broken = ProgramRun(stack="dev", resources=resources)

    (found,) = violations(broken)
    assert repr(bad) in found
