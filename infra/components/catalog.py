"""The LLM catalog: Lambda (python3.12, arm64) behind an API Gateway HTTP API.

Cold-start levers (services/catalog/README.md): arm64 (cheaper per ms, as fast for this
I/O-bound handler), memory from config (CPU scales with it), a published version behind
the `live` alias, and either SnapStart on published versions (`CATALOG_PRIME_AT_INIT=true`
so the snapshot holds a warm cache and client) or provisioned concurrency on the alias.
Reserved concurrency caps what one hot API can take from the account (and from DynamoDB);
HTTP API stage throttling sheds excess at the edge before it costs a Lambda invocation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.components.base import Component, policy_json
from infra.config import ConfigError, StackConfig
from infra.iam import catalog_statements

REPO_ROOT = Path(__file__).resolve().parents[2]
ZIP = REPO_ROOT / "services" / "catalog" / "dist" / "catalog.zip"
HANDLER = "catalog.handler.lambda_handler"
ROUTES = {"list": "GET /llms", "item": "GET /llms/{model_name}"}
ALIAS = "live"


def code_archive(zip_path: Path | None = None) -> pulumi.Archive:
    """The built zip; without it the deployment stops (a placeholder answering 503 once
    shipped silently to whichever stack ran without `make lambda-zip`)."""
    path = zip_path or ZIP
    if not path.exists():
        raise ConfigError(f"{path} is missing: run `make lambda-zip` before preview or up")
    return pulumi.FileArchive(str(path))


class Catalog(Component):
    component = "catalog"

    def __init__(
        self,
        cfg: StackConfig,
        *,
        table_name: pulumi.Input[str],
        table_arn: pulumi.Input[str],
        key_arn: pulumi.Input[str],
        alarm_topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(cfg, opts)
        cat = cfg.catalog
        tags = self.tags()
        fn_name = self.name("catalog")

        log_group = aws.cloudwatch.LogGroup(
            self.name("catalog-logs"),
            name=f"/aws/lambda/{fn_name}",
            retention_in_days=cat.log_retention_days,
            tags=tags,
            opts=self.named(),
        )
        role = aws.iam.Role(
            self.name("catalog"),
            name=self.name("catalog-lambda"),
            assume_role_policy=policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            ),
            tags=tags,
            opts=self.named(),
        )
        self.policy = aws.iam.RolePolicy(
            self.name("catalog"),
            role=role.id,
            policy=policy_json(catalog_statements(table_arn, key_arn, log_group.arn)),
            opts=self.child(),
        )
        snapstart = cat.cold_start == "snapstart"
        self.function = aws.lambda_.Function(
            self.name("catalog"),
            name=fn_name,
            runtime="python3.12",
            architectures=["arm64"],
            handler=HANDLER,
            code=code_archive(),
            memory_size=cat.memory_mb,
            timeout=cat.timeout_s,
            role=role.arn,
            publish=True,  # SnapStart and provisioned concurrency need published versions
            snap_start=aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions")
            if snapstart
            else None,
            reserved_concurrent_executions=cat.reserved_concurrency,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=log_group.name
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "TABLE_NAME": table_name,
                    "CATALOG_CACHE_TTL_S": str(cat.cache_ttl_s),
                    # With SnapStart work done at init is snapshotted: prime there.
                    "CATALOG_PRIME_AT_INIT": "true" if snapstart else "false",
                }
            ),
            tags=tags,
            opts=self.named(depends_on=[log_group, self.policy]),
        )
        self.alias = aws.lambda_.Alias(
            self.name("catalog-live"),
            name=ALIAS,
            function_name=self.function.name,
            function_version=self.function.version,
            opts=self.child(),
        )
        if cat.cold_start == "provisioned":
            aws.lambda_.ProvisionedConcurrencyConfig(
                self.name("catalog-provisioned"),
                function_name=self.function.name,
                qualifier=self.alias.name,
                provisioned_concurrent_executions=cat.provisioned_concurrency,
                opts=self.child(),
            )

        self.api = aws.apigatewayv2.Api(
            self.name("catalog-api"),
            name=self.name("catalog"),
            protocol_type="HTTP",
            tags=tags,
            opts=self.child(),
        )
        integration = aws.apigatewayv2.Integration(
            self.name("catalog"),
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=self.alias.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=min(30000, cat.timeout_s * 1000 + 1000),
            opts=self.child(),
        )
        for key, route in ROUTES.items():
            aws.apigatewayv2.Route(
                self.name(f"catalog-route-{key}"),
                api_id=self.api.id,
                route_key=route,
                target=integration.id.apply(lambda i: f"integrations/{i}"),
                opts=self.child(),
            )
        access_logs = aws.cloudwatch.LogGroup(
            self.name("catalog-api-logs"),
            name=f"/{cfg.project}/{cfg.stack}/catalog-api",
            retention_in_days=cat.log_retention_days,
            tags=tags,
            opts=self.named(),
        )
        self.stage = aws.apigatewayv2.Stage(
            self.name("catalog-default"),
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=cat.throttle_rate_per_s,
                throttling_burst_limit=cat.throttle_burst,
                detailed_metrics_enabled=True,
            ),
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn,
                format=json.dumps(
                    {
                        "requestId": "$context.requestId",
                        "ip": "$context.identity.sourceIp",
                        "method": "$context.httpMethod",
                        "route": "$context.routeKey",
                        "status": "$context.status",
                        "latencyMs": "$context.responseLatency",
                        "integrationLatencyMs": "$context.integrationLatency",
                        "integrationError": "$context.integrationErrorMessage",
                    }
                ),
            ),
            tags=tags,
            opts=self.child(),
        )
        aws.lambda_.Permission(
            self.name("catalog-apigw"),
            action="lambda:InvokeFunction",
            function=self.function.name,
            qualifier=self.alias.name,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=self.child(),
        )
        self._alarms(fn_name, cat.p99_alarm_ms, alarm_topic_arn)
        self.url = self.api.api_endpoint
        self.register_outputs({"url": self.url, "functionName": self.function.name})

    def _alarms(self, fn_name: str, p99_ms: int, topic_arn: pulumi.Input[str]) -> None:
        dims = {"FunctionName": fn_name, "Resource": f"{fn_name}:{ALIAS}"}
        # (name, metric, statistic, extended statistic, threshold)
        alarms = (
            ("errors", "Errors", "Sum", None, 5),
            ("throttles", "Throttles", "Sum", None, 1),
            ("duration-p99", "Duration", None, "p99", p99_ms),
        )
        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        for name, metric, statistic, extended, threshold in alarms:
            self.alarms.append(
                aws.cloudwatch.MetricAlarm(
                    self.name(f"catalog-{name}"),
                    name=self.name(f"catalog-{name}"),
                    namespace="AWS/Lambda",
                    metric_name=metric,
                    statistic=statistic,
                    extended_statistic=extended,
                    threshold=threshold,
                    dimensions=dims,
                    period=60,
                    evaluation_periods=5,
                    datapoints_to_alarm=3,
                    comparison_operator="GreaterThanOrEqualToThreshold",
                    treat_missing_data="notBreaching",
                    alarm_description=f"catalog Lambda {name} (alias {ALIAS})",
                    alarm_actions=[topic_arn],
                    ok_actions=[topic_arn],
                    tags=self.tags(),
                    opts=self.named(),
                )
            )
