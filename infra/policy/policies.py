"""Policy as code for the platform: the checks, as pure functions, and their pulumi-policy
wrappers (`POLICIES`). Tests import this module; `__main__.py` registers `POLICIES`.

Each check reads resource inputs exactly as the engine gives them to an analyzer (the
camelCase property bag) and returns violation messages; an empty list means compliant.
The stack is read from the URN, so prod-only rules need no config.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from pulumi_policy import (
    EnforcementLevel,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.config import EKS_STANDARD_SUPPORT_END

Props = Mapping[str, Any]

REQUIRED_TAGS = ("project", "stack", "service", "owner")
# Every taggable type the program declares (tests/infra checks this list covers them all).
TAGGABLE_TYPES = frozenset(
    {
        "aws:acm/certificate:Certificate",
        "aws:apigatewayv2/api:Api",
        "aws:apigatewayv2/stage:Stage",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:dynamodb/table:Table",
        "aws:ec2/eip:Eip",
        "aws:ec2/flowLog:FlowLog",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ecr/repository:Repository",
        "aws:efs/fileSystem:FileSystem",
        "aws:eks/addon:Addon",
        "aws:iam/role:Role",
        "aws:kms/key:Key",
        "aws:lambda/function:Function",
        "aws:rds/instance:Instance",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:s3/bucket:Bucket",
        "aws:secretsmanager/secret:Secret",
        "aws:sns/topic:Topic",
        "eks:index:Cluster",
        "eks:index:ManagedNodeGroup",
    }
)
WORKLOAD_TYPES = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
    }
)


def stack_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::...` -> `<stack>`."""
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


# --- resource checks ------------------------------------------------------------------


def dynamodb_pitr_sse(type_: str, props: Props, urn: str = "") -> list[str]:
    if type_ != "aws:dynamodb/table:Table":
        return []
    problems = []
    if not (props.get("pointInTimeRecovery") or {}).get("enabled"):
        problems.append("DynamoDB table must enable point-in-time recovery")
    if not (props.get("serverSideEncryption") or {}).get("enabled"):
        problems.append("DynamoDB table must enable server-side encryption with KMS")
    return problems


def rds_encrypted_private(type_: str, props: Props, urn: str = "") -> list[str]:
    if type_ != "aws:rds/instance:Instance":
        return []
    problems = []
    if props.get("storageEncrypted") is not True:
        problems.append("RDS instance storage must be encrypted")
    if props.get("publiclyAccessible") is True:
        problems.append("RDS instance must not be publicly accessible")
    return problems


def ecr_scan_immutable(type_: str, props: Props, urn: str = "") -> list[str]:
    if type_ != "aws:ecr/repository:Repository":
        return []
    problems = []
    if not (props.get("imageScanningConfiguration") or {}).get("scanOnPush"):
        problems.append("ECR repository must scan images on push")
    if not str(props.get("imageTagMutability", "MUTABLE")).startswith("IMMUTABLE"):
        problems.append("ECR repository tags must be immutable")
    return problems


def required_tags(type_: str, props: Props, urn: str = "") -> list[str]:
    if type_ not in TAGGABLE_TYPES:
        return []
    tags = props.get("tags") or {}
    missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
    return [f"missing tags: {', '.join(missing)}"] if missing else []


def prod_deletion_protection(type_: str, props: Props, urn: str = "") -> list[str]:
    if stack_of(urn) != "prod":
        return []
    if type_ == "aws:rds/instance:Instance" and props.get("deletionProtection") is not True:
        return ["prod RDS instance must have deletion protection"]
    if type_ == "aws:dynamodb/table:Table" and props.get("deletionProtectionEnabled") is not True:
        return ["prod DynamoDB table must have deletion protection"]
    if type_ == "eks:index:Cluster" and props.get("deletionProtection") is not True:
        return ["prod EKS cluster must have deletion protection"]
    return []


def eks_endpoint_restricted(type_: str, props: Props, urn: str = "") -> list[str]:
    """A public API endpoint admits listed ranges only (EKS's default is 0.0.0.0/0)."""
    if type_ != "eks:index:Cluster" or props.get("endpointPublicAccess") is False:
        return []
    cidrs = props.get("publicAccessCidrs") or []
    if not cidrs or any(str(c).endswith("/0") for c in cidrs):
        return ["EKS public API endpoint must be limited to listed CIDRs (not /0, not unset)"]
    return []


def eks_network_policy_enforced(type_: str, props: Props, urn: str = "") -> list[str]:
    """The VPC CNI enforces NetworkPolicies only with its network policy agent on."""
    if type_ != "eks:index:Cluster":
        return []
    if (props.get("vpcCniOptions") or {}).get("enableNetworkPolicy") is not True:
        return ["EKS cluster must enable the VPC CNI network policy agent (enableNetworkPolicy)"]
    return []


def log_groups_expire(type_: str, props: Props, urn: str = "") -> list[str]:
    if type_ == "aws:cloudwatch/logGroup:LogGroup" and not props.get("retentionInDays"):
        return ["CloudWatch log group must set retentionInDays (never-expiring logs)"]
    return []


def eks_standard_support(type_: str, props: Props, urn: str = "") -> list[str]:
    """A version in EKS standard support, and no silent slide into extended support."""
    if type_ != "eks:index:Cluster":
        return []
    problems = []
    end = EKS_STANDARD_SUPPORT_END.get(str(props.get("version")))
    if end is None or end <= datetime.date.today():
        problems.append(f"EKS version {props.get('version')} is not in standard support")
    if (props.get("upgradePolicy") or {}).get("supportType") != "STANDARD":
        problems.append("EKS upgradePolicy.supportType must be STANDARD (no extended support)")
    return problems


def alarms_routed(type_: str, props: Props, urn: str = "") -> list[str]:
    if type_ == "aws:cloudwatch/metricAlarm:MetricAlarm" and not props.get("alarmActions"):
        return ["CloudWatch alarm must notify someone (alarmActions: the stack's alerts topic)"]
    return []


def k8s_containers_hardened(type_: str, props: Props, urn: str = "") -> list[str]:
    """No container as root, requests and limits set, liveness and readiness probes set."""
    if type_ not in WORKLOAD_TYPES:
        return []
    pod = ((props.get("spec") or {}).get("template") or {}).get("spec") or {}
    pod_non_root = (pod.get("securityContext") or {}).get("runAsNonRoot") is True
    problems = []
    for c in pod.get("containers") or []:
        name = c.get("name", "?")
        sc = c.get("securityContext") or {}
        if not (
            sc.get("runAsNonRoot") is True or (pod_non_root and sc.get("runAsNonRoot") is not False)
        ):
            problems.append(f"container {name} may run as root (set runAsNonRoot)")
        if sc.get("runAsUser") == 0:
            problems.append(f"container {name} runs as uid 0")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            if not all((res.get(part) or {}).get(k) for k in ("cpu", "memory")):
                problems.append(f"container {name} must set cpu and memory {part}")
        for probe in ("livenessProbe", "readinessProbe"):
            if not c.get(probe):
                problems.append(f"container {name} must set {probe}")
    return problems


def k8s_images_pinned(type_: str, props: Props, urn: str = "") -> list[str]:
    """Images by digest: a tag (above all `latest`) can point at other bytes, or at none."""
    if type_ not in WORKLOAD_TYPES:
        return []
    pod = ((props.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]
    return [
        f"container {c.get('name', '?')} image {c.get('image')!r} is not pinned by digest"
        for c in containers
        if "@sha256:" not in str(c.get("image", ""))
    ]


# Type -> the input that fixes its physical name (unique in the account or region). The EKS
# cluster is left out on purpose: replacing it is a migration, not an `up` (docs/infra.md).
PHYSICAL_NAMES = {
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
    "aws:dynamodb/table:Table": "name",
    "aws:ecr/repository:Repository": "name",
    "aws:iam/role:Role": "name",
    "aws:kms/alias:Alias": "name",
    "aws:lambda/function:Function": "name",
    "aws:rds/instance:Instance": "identifier",
    "aws:rds/subnetGroup:SubnetGroup": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:sns/topic:Topic": "name",
}
PROD_DATA_TYPES = frozenset(
    {
        "aws:kms/key:Key",
        "aws:dynamodb/table:Table",
        "aws:s3/bucket:Bucket",
        "aws:rds/instance:Instance",
    }
)


def named_delete_before_replace(
    type_: str, props: Props, urn: str, opts: PolicyResourceOptions
) -> list[str]:
    field = PHYSICAL_NAMES.get(type_)
    if field is None or not props.get(field) or opts.delete_before_replace:
        return []
    return [f"{type_} has a fixed {field}: set delete_before_replace (else AlreadyExists)"]


def prod_data_protected(
    type_: str, props: Props, urn: str, opts: PolicyResourceOptions
) -> list[str]:
    if stack_of(urn) != "prod" or type_ not in PROD_DATA_TYPES or opts.protect:
        return []
    return [f"prod {type_} holds data: set protect"]


OPTION_CHECKS: dict[
    str, tuple[str, Callable[[str, Props, str, PolicyResourceOptions], list[str]]]
] = {
    "named-resources-delete-before-replace": (
        "resources with a fixed physical name are replaced delete-first",
        named_delete_before_replace,
    ),
    "prod-data-protected": (
        "prod keys, tables, buckets and databases are protected",
        prod_data_protected,
    ),
}


RESOURCE_CHECKS: dict[str, tuple[str, Callable[[str, Props, str], list[str]]]] = {
    "dynamodb-pitr-sse": ("DynamoDB tables have PITR and SSE (KMS)", dynamodb_pitr_sse),
    "rds-encrypted-private": ("RDS instances are encrypted and not public", rds_encrypted_private),
    "ecr-scan-immutable": (
        "ECR repositories scan on push and have immutable tags",
        ecr_scan_immutable,
    ),
    "required-tags": ("Taggable resources carry project, stack, service, owner", required_tags),
    "prod-deletion-protection": (
        "prod stateful resources are protected from deletion",
        prod_deletion_protection,
    ),
    "eks-endpoint-restricted": (
        "EKS API endpoints are not open to the internet",
        eks_endpoint_restricted,
    ),
    "eks-network-policy-enforced": (
        "NetworkPolicies are enforced (VPC CNI network policy agent on)",
        eks_network_policy_enforced,
    ),
    "log-groups-expire": ("CloudWatch log groups have a retention", log_groups_expire),
    "eks-standard-support": (
        "EKS runs a version in standard support, with upgradePolicy STANDARD",
        eks_standard_support,
    ),
    "alarms-routed": ("CloudWatch alarms have alarm actions", alarms_routed),
    "k8s-containers-hardened": (
        "containers are non-root with resources and probes",
        k8s_containers_hardened,
    ),
    "k8s-images-pinned": ("workload images are pinned by digest", k8s_images_pinned),
}


# --- stack checks (relations between resources) -----------------------------------------


class Resource(Protocol):
    """What a stack check reads of a resource (pulumi_policy.PolicyResource has it)."""

    @property
    def resource_type(self) -> str: ...
    @property
    def props(self) -> Props: ...
    @property
    def urn(self) -> str: ...
    @property
    def property_dependencies(self) -> Mapping[str, Any]: ...


S3_PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)


def _attached(bucket: Resource, config: Resource) -> bool:
    """`config.bucket` is this bucket: by property dependency (preview) or by value."""
    deps = config.property_dependencies.get("bucket") or []
    if any(getattr(d, "urn", d) == bucket.urn for d in deps):
        return True
    value = config.props.get("bucket")
    return value is not None and value in (bucket.props.get("bucket"), bucket.props.get("id"))


def s3_private_encrypted(resources: Iterable[Resource]) -> list[tuple[str, str]]:
    """Every bucket has a full public access block and default encryption; (message, urn)."""
    resources = list(resources)
    buckets = [r for r in resources if r.resource_type == "aws:s3/bucket:Bucket"]
    blocks = [
        r
        for r in resources
        if r.resource_type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    ]
    sse = [
        r
        for r in resources
        if r.resource_type
        == "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ]
    problems = []
    for bucket in buckets:
        own_blocks = [b for b in blocks if _attached(bucket, b)]
        if not any(all(b.props.get(f) is True for f in S3_PUBLIC_ACCESS_FLAGS) for b in own_blocks):
            problems.append(
                ("S3 bucket needs a public access block with all four flags on", bucket.urn)
            )
        own_sse = [s for s in sse if _attached(bucket, s)]
        encrypted = any(
            ((rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm"))
            for s in own_sse
            for rule in s.props.get("rules") or []
        )
        if not encrypted:
            problems.append(("S3 bucket needs default server-side encryption", bucket.urn))
    return problems


# --- pulumi-policy wrappers -------------------------------------------------------------


def _mandatory(
    name: str,
    description: str,
    messages: Callable[[ResourceValidationArgs], list[str]],
) -> ResourceValidationPolicy:
    """A mandatory resource policy reporting each message `messages` finds."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in messages(args):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def _resource_policy(
    name: str, description: str, check: Callable[[str, Props, str], list[str]]
) -> ResourceValidationPolicy:
    return _mandatory(
        name, description, lambda args: check(args.resource_type, args.props, args.urn)
    )


def _option_policy(
    name: str,
    description: str,
    check: Callable[[str, Props, str, PolicyResourceOptions], list[str]],
) -> ResourceValidationPolicy:
    return _mandatory(
        name,
        description,
        lambda args: check(args.resource_type, args.props, args.urn, args.opts),
    )


def _s3_validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for message, urn in s3_private_encrypted(args.resources):
        report_violation(message, urn)


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    *(_resource_policy(name, desc, check) for name, (desc, check) in RESOURCE_CHECKS.items()),
    *(_option_policy(name, desc, check) for name, (desc, check) in OPTION_CHECKS.items()),
    StackValidationPolicy(
        name="s3-private-encrypted",
        description="S3 buckets block public access and are encrypted by default",
        validate=_s3_validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
