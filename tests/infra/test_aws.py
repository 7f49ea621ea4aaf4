"""The dev and prod programs, built under mocks, declare the AWS resources the issue asks for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.stacks import registry_run
from tests.infra.mocking import ProgramRun


def _doc(policy: str | dict) -> dict:
    return json.loads(policy) if isinstance(policy, str) else policy


# --- network ----------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "zones", "nats"), [("dev", 2, 1), ("prod", 3, 3)])
def test_vpc_spans_zones_with_nat_per_stack(
    stack: str, zones: int, nats: int, request: pytest.FixtureRequest
) -> None:
    run: ProgramRun = request.getfixturevalue(stack)
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    assert len({s.inputs["availabilityZone"] for s in subnets}) == zones
    assert sum("private" in s.name for s in subnets) == zones
    assert not any(s.inputs.get("mapPublicIpOnLaunch") for s in subnets)
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == nats


def test_gateway_endpoints_everywhere_interface_endpoints_only_in_prod(
    dev: ProgramRun, prod: ProgramRun
) -> None:
    def endpoints(run: ProgramRun, kind: str) -> set[str]:
        return {
            e.inputs["serviceName"].rsplit(".", 1 if kind == "Gateway" else 2)[-1]
            if kind == "Gateway"
            else e.inputs["serviceName"].split("us-east-1.", 1)[1]
            for e in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
            if e.inputs["vpcEndpointType"] == kind
        }

    assert endpoints(dev, "Gateway") == endpoints(prod, "Gateway") == {"s3", "dynamodb"}
    assert endpoints(dev, "Interface") == set()
    assert endpoints(prod, "Interface") == {"ecr.api", "ecr.dkr", "sts", "logs"}


def test_vpc_has_flow_logs(stack_run: ProgramRun) -> None:
    (flow,) = stack_run.of_type("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["logDestinationType"] == "cloud-watch-logs"


# --- cluster ----------------------------------------------------------------------------


def test_eks_cluster_uses_access_entries_private_nodes_oidc_logs_and_kms(
    stack_run: ProgramRun,
) -> None:
    cluster = stack_run.one("eks:index:Cluster").inputs
    assert cluster["authenticationMode"] == "API"
    assert cluster["createOidcProvider"] is True
    assert cluster["nodeAssociatePublicIpAddress"] is False
    assert cluster["skipDefaultNodeGroup"] is True
    assert set(cluster["enabledClusterLogTypes"]) >= {"api", "audit", "authenticator"}
    assert cluster["encryptionConfigKeyArn"].startswith("arn:aws:kms:")
    nodes = stack_run.one("eks:index:ManagedNodeGroup").inputs
    private = {s.name for s in stack_run.of_type("aws:ec2/subnet:Subnet") if "private" in s.name}
    assert len(nodes["subnetIds"]) == len(private)
    assert all("private" in s for s in nodes["subnetIds"])


def test_kubernetes_provider_and_addons_are_helm_releases(stack_run: ProgramRun) -> None:
    assert stack_run.one("pulumi:providers:kubernetes").inputs["kubeconfig"]
    charts = {
        r.inputs["chart"]: r.inputs for r in stack_run.of_type("kubernetes:helm.sh/v3:Release")
    }
    assert {
        "aws-load-balancer-controller",
        "metrics-server",
        "kube-prometheus-stack",
        "external-secrets",
    } <= set(charts)
    assert all(c.get("version") for c in charts.values())  # pinned


def test_outputs_name_everything_a_deployer_needs(stack_run: ProgramRun) -> None:
    out = stack_run.outputs
    for key in (
        "clusterName",
        "kubeconfig",
        "imageTag",
        "catalogApiUrl",
        "usersTable",
        "llmScoresTable",
        "avatarsBucket",
        "dbEndpoint",
    ):
        assert out[key], key


# --- registry ---------------------------------------------------------------------------


def test_ecr_repositories_are_immutable_scanned_encrypted_with_lifecycle() -> None:
    run = registry_run()
    repos = run.of_type("aws:ecr/repository:Repository")
    assert len(repos) == 6
    for repo in repos:
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True
        assert repo.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    for lifecycle in run.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        rules = json.loads(lifecycle.inputs["policy"])["rules"]
        assert {r["selection"]["tagStatus"] for r in rules} == {"untagged", "any"}


# --- data -------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "protected"), [("dev", False), ("prod", True)])
def test_dynamodb_tables_on_demand_pitr_kms_and_protected_in_prod(
    stack: str, protected: bool, request: pytest.FixtureRequest
) -> None:
    run: ProgramRun = request.getfixturevalue(stack)
    tables = {t.inputs["hashKey"]: t.inputs for t in run.of_type("aws:dynamodb/table:Table")}
    assert set(tables) == {"id", "model_name"}
    for table in tables.values():
        assert table["billingMode"] == "PAY_PER_REQUEST"
        assert table["pointInTimeRecovery"]["enabled"] is True
        assert table["serverSideEncryption"]["enabled"] is True
        assert table["serverSideEncryption"]["kmsKeyArn"]
        assert table["deletionProtectionEnabled"] is protected


def test_avatars_bucket_is_private_encrypted_versioned_and_tls_only(stack_run: ProgramRun) -> None:
    block = stack_run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[f] is True
        for f in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    own = stack_run.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert own["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    sse = stack_run.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    versioning = stack_run.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    lifecycle = stack_run.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    ).inputs
    assert lifecycle["rules"][0]["noncurrentVersionExpiration"]["noncurrentDays"] == 30
    (statement,) = _doc(stack_run.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])[
        "Statement"
    ]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize(("stack", "prod_like"), [("dev", False), ("prod", True)])
def test_rds_is_encrypted_private_managed_secret_force_ssl(
    stack: str, prod_like: bool, request: pytest.FixtureRequest
) -> None:
    run: ProgramRun = request.getfixturevalue(stack)
    db = run.one("aws:rds/instance:Instance").inputs
    assert db["storageEncrypted"] is True
    assert db["publiclyAccessible"] is False
    assert db["manageMasterUserPassword"] is True
    assert "password" not in db
    assert db["backupRetentionPeriod"] >= 3
    assert db["multiAz"] is prod_like
    assert db["deletionProtection"] is prod_like
    params = {
        p["name"]: p["value"]
        for p in run.one("aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]
    }
    assert params["rds.force_ssl"] == "1"
    (sg,) = [s for s in run.of_type("aws:ec2/securityGroup:SecurityGroup") if "dumbkv-db" in s.name]
    (rule,) = sg.inputs["ingress"]
    assert rule["fromPort"] == rule["toPort"] == 5432
    assert rule["securityGroups"] == ["sg-nodes"]
    assert not rule.get("cidrBlocks")


# --- catalog ----------------------------------------------------------------------------


def test_catalog_lambda_is_python312_arm64_published_with_reserved_concurrency(
    stack_run: ProgramRun,
) -> None:
    fn = stack_run.one("aws:lambda/function:Function").inputs
    assert fn["runtime"] == "python3.12"
    assert fn["architectures"] == ["arm64"]
    assert fn["handler"] == "catalog.handler.lambda_handler"
    assert fn["publish"] is True
    assert fn["reservedConcurrentExecutions"] >= 1
    assert fn["environment"]["variables"]["TABLE_NAME"].endswith("llm_scores")
    alias = stack_run.one("aws:lambda/alias:Alias").inputs
    assert alias["name"] == "live"
    assert alias["functionVersion"] == "1"


def test_dev_uses_snapstart_and_primes_at_init(dev: ProgramRun) -> None:
    fn = dev.one("aws:lambda/function:Function").inputs
    assert fn["snapStart"] == {"applyOn": "PublishedVersions"}
    assert fn["environment"]["variables"]["CATALOG_PRIME_AT_INIT"] == "true"
    assert not dev.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")


def test_prod_uses_provisioned_concurrency_on_the_alias(prod: ProgramRun) -> None:
    fn = prod.one("aws:lambda/function:Function").inputs
    assert "snapStart" not in fn
    pc = prod.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig").inputs
    assert pc["qualifier"] == "live"
    assert pc["provisionedConcurrentExecutions"] == 5


def test_http_api_routes_throttling_access_logs_and_alarms(stack_run: ProgramRun) -> None:
    assert stack_run.one("aws:apigatewayv2/api:Api").inputs["protocolType"] == "HTTP"
    routes = {r.inputs["routeKey"] for r in stack_run.of_type("aws:apigatewayv2/route:Route")}
    assert routes == {"GET /llms", "GET /llms/{model_name}"}
    integration = stack_run.one("aws:apigatewayv2/integration:Integration").inputs
    assert integration["payloadFormatVersion"] == "2.0"
    stage = stack_run.one("aws:apigatewayv2/stage:Stage").inputs
    assert stage["defaultRouteSettings"]["throttlingRateLimit"] > 0
    assert stage["defaultRouteSettings"]["throttlingBurstLimit"] > 0
    assert "$context.requestId" in stage["accessLogSettings"]["format"]
    alarms = {
        a.inputs["metricName"]: a.inputs
        for a in stack_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert set(alarms) == {"Errors", "Throttles", "Duration"}
    assert alarms["Duration"]["extendedStatistic"] == "p99"
    assert stack_run.one("aws:lambda/permission:Permission").inputs["qualifier"] == "live"


# --- IAM --------------------------------------------------------------------------------


def _role_policy(run: ProgramRun, name: str) -> list[dict]:
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith(name)]
    return _doc(policy.inputs["policy"])["Statement"]


def test_catalog_may_only_read_its_table(stack_run: ProgramRun) -> None:
    statements = _role_policy(stack_run, "-catalog")
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert len(dynamo) == 1
    assert sorted(dynamo[0]["Action"]) == ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"]
    assert dynamo[0]["Resource"].endswith("llm_scores")


def test_users_role_reaches_only_its_table_and_avatar_objects(stack_run: ProgramRun) -> None:
    statements = {s["Sid"]: s for s in _role_policy(stack_run, "-users-irsa")}
    assert statements["UsersTable"]["Resource"].endswith("-users")
    assert statements["AvatarObjects"]["Resource"].endswith("/avatars/*")
    assert set(statements["AvatarObjects"]["Action"]) == {
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
    }
    assert all("*" not in a for s in statements.values() for a in s["Action"])


def test_users_role_can_head_its_bucket_for_readiness(stack_run: ProgramRun) -> None:
    head = {s["Sid"]: s for s in _role_policy(stack_run, "-users-irsa")}["AvatarBucketHead"]
    assert head["Action"] == ["s3:ListBucket"]
    assert not head["Resource"].endswith("*")  # the bucket itself, not its objects
    assert "Condition" not in head, "HeadBucket sends no s3:prefix; a condition denies it"


def test_dumbkv_role_reads_only_its_database_secrets(stack_run: ProgramRun) -> None:
    secrets, key = _role_policy(stack_run, "-dumbkv-irsa")
    assert secrets["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert len(secrets["Resource"]) == 2
    assert all(r.startswith("arn:aws:secretsmanager:") for r in secrets["Resource"])
    assert key["Action"] == ["kms:Decrypt"]


def test_irsa_roles_trust_only_their_service_account(stack_run: ProgramRun) -> None:
    roles = {
        r.inputs["name"]: _doc(r.inputs["assumeRolePolicy"])
        for r in stack_run.of_type("aws:iam/role:Role")
    }
    for service in ("users", "dumbkv"):
        (statement,) = roles[f"platform-{stack_run.stack}-{service}-irsa"]["Statement"]
        conditions = statement["Condition"]["StringEquals"]
        assert f"system:serviceaccount:platform:{service}" in conditions.values()
        assert "sts.amazonaws.com" in conditions.values()


# --- replacement and protection ---------------------------------------------------------


def test_every_fixed_physical_name_is_replaced_delete_first(stack_run: ProgramRun) -> None:
    from infra.policy.policies import PHYSICAL_NAMES

    named = [r for r in stack_run.resources if r.inputs.get(PHYSICAL_NAMES.get(r.type, "\0"))]
    assert len(named) > 15
    assert [r.name for r in named if not r.delete_before_replace] == []


def test_prod_data_is_protected_and_dev_data_is_not(dev: ProgramRun, prod: ProgramRun) -> None:
    data = (
        "aws:kms/key:Key",
        "aws:dynamodb/table:Table",
        "aws:s3/bucket:Bucket",
        "aws:rds/instance:Instance",
    )
    for run, protected in ((dev, False), (prod, True)):
        assert {r.protect for t in data for r in run.of_type(t)} == {protected}, run.stack


# --- log retention ----------------------------------------------------------------------


def test_the_log_groups_aws_services_write_to_exist_with_the_configured_retention(
    stack_run: ProgramRun,
) -> None:
    from infra.render_manifests import stack_config

    cfg = stack_config(stack_run.stack)
    groups = {g.inputs["name"]: g for g in stack_run.of_type("aws:cloudwatch/logGroup:LogGroup")}
    cluster = stack_run.one("eks:index:Cluster").inputs["name"]
    db = stack_run.one("aws:rds/instance:Instance").inputs["identifier"]
    eks_logs = groups[f"/aws/eks/{cluster}/cluster"]
    rds_logs = groups[f"/aws/rds/instance/{db}/postgresql"]
    assert eks_logs.inputs["retentionInDays"] == cfg.cluster.log_retention_days
    assert rds_logs.inputs["retentionInDays"] == cfg.database.log_retention_days
    assert all(g.inputs.get("retentionInDays") for g in groups.values())


@pytest.mark.parametrize(("version", "family"), [("16", "postgres16"), ("17.2", "postgres17")])
def test_the_parameter_group_family_follows_the_engine_version(version: str, family: str) -> None:
    from infra.render_manifests import stack_config
    from tests.fixtures.stacks import build_stack

    database = {**stack_config("dev").database.__dict__}
    raw = {
        "instanceClass": database["instance_class"],
        "multiAz": False,
        "backupRetentionDays": 3,
        "engineVersion": version,
    }
    run = build_stack("dev", database=raw)
    assert run.one("aws:rds/parameterGroup:ParameterGroup").inputs["family"] == family
    assert run.one("aws:rds/instance:Instance").inputs["engineVersion"] == version


# --- Kubernetes version -----------------------------------------------------------------


def test_the_cluster_runs_a_version_in_eks_standard_support_and_stays_there(
    stack_run: ProgramRun,
) -> None:
    import datetime

    from infra.config import EKS_STANDARD_SUPPORT_END

    cluster = stack_run.one("eks:index:Cluster").inputs
    # Fails the day the version leaves standard support: upgrade, do not pay extended.
    assert EKS_STANDARD_SUPPORT_END[cluster["version"]] > datetime.date.today()
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}


def test_the_kubernetes_version_is_set_in_one_place() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for stack in ("dev", "prod"):
        assert "version:" not in (root / f"Pulumi.{stack}.yaml").read_text(), stack


def test_the_catalog_deploys_the_built_zip(stack_run: ProgramRun) -> None:
    import pulumi

    from tests.fixtures.stacks import CATALOG_ZIP

    code = stack_run.one("aws:lambda/function:Function").inputs["code"]
    assert isinstance(code, pulumi.FileArchive)
    assert code.path == str(CATALOG_ZIP)


def test_a_missing_catalog_zip_stops_the_deployment_instead_of_a_503_placeholder(
    tmp_path: Path,
) -> None:
    from infra.components.catalog import code_archive
    from infra.config import ConfigError

    with pytest.raises(ConfigError, match="make lambda-zip"):
        code_archive(tmp_path / "catalog.zip")
