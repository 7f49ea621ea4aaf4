"""State: DynamoDB `users` and `llm_scores`, the avatars bucket, Postgres for dumbkv.

Everything is encrypted with one customer-managed KMS key per stack (rotated yearly),
private, backed up (PITR, versioning, RDS backups), and protected from deletion in prod.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.components.base import Component, policy_json
from infra.config import StackConfig
from infra.services import APP_DB_USER, DB_NAME


def postgres_family(engine_version: str) -> str:
    """The parameter group family of a Postgres engine version (`16.4` -> `postgres16`)."""
    return f"postgres{engine_version.split('.')[0]}"


class Data(Component):
    component = "data"

    def __init__(
        self,
        cfg: StackConfig,
        *,
        account_id: pulumi.Input[str],
        vpc_id: pulumi.Input[str],
        private_subnet_ids: list[pulumi.Output[str]],
        node_security_group_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(cfg, opts)
        protect = cfg.deletion_protection

        self.key = aws.kms.Key(
            self.name("data"),
            description=f"{cfg.prefix}: DynamoDB, S3 avatars, RDS",
            enable_key_rotation=True,
            deletion_window_in_days=30 if cfg.is_prod else 7,
            tags=self.tags(),
            opts=self.child(protect=protect),
        )
        aws.kms.Alias(
            self.name("data-alias"),
            name=f"alias/{cfg.prefix}-data",
            target_key_id=self.key.key_id,
            opts=self.named(),
        )

        self.users_table = self._table("users", "id", "users")
        self.scores_table = self._table("llm_scores", "model_name", "catalog")

        self.bucket = self._avatars(account_id)

        # --- Postgres for dumbkv -----------------------------------------------------
        subnets = aws.rds.SubnetGroup(
            self.name("dumbkv-db"),
            name=self.name("dumbkv-db"),
            subnet_ids=private_subnet_ids,
            tags=self.tags("dumbkv"),
            opts=self.named(),
        )
        self.db_security_group = aws.ec2.SecurityGroup(
            self.name("dumbkv-db"),
            vpc_id=vpc_id,
            description="Postgres for dumbkv: only from the EKS nodes",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=5432,
                    to_port=5432,
                    security_groups=[node_security_group_id],
                    description="EKS nodes (pods use the node ENIs)",
                )
            ],
            tags=self.tags("dumbkv"),
            opts=self.child(),
        )
        family = postgres_family(cfg.database.engine_version)
        params = aws.rds.ParameterGroup(
            # One group per major version: an upgrade creates the new one beside the old.
            self.name(f"dumbkv-pg{family.removeprefix('postgres')}"),
            family=family,
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_min_duration_statement", value="500"),
            ],
            tags=self.tags("dumbkv"),
            opts=self.child(),
        )
        db = cfg.database
        identifier = self.name("dumbkv")
        # RDS creates its log group without retention on first export: create it first.
        db_logs = aws.cloudwatch.LogGroup(
            self.name("dumbkv-db-logs"),
            name=f"/aws/rds/instance/{identifier}/postgresql",
            retention_in_days=db.log_retention_days,
            tags=self.tags("dumbkv"),
            opts=self.named(),
        )
        self.db = aws.rds.Instance(
            self.name("dumbkv-db"),
            identifier=identifier,
            engine="postgres",
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            allocated_storage=db.allocated_storage_gb,
            max_allocated_storage=db.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=self.key.arn,
            db_name=DB_NAME,
            username="dumbkv",
            manage_master_user_password=True,  # in Secrets Manager, rotated by RDS
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[self.db_security_group.id],
            parameter_group_name=params.name,
            publicly_accessible=False,
            multi_az=db.multi_az,
            backup_retention_period=db.backup_retention_days,
            backup_window="03:00-04:00",
            maintenance_window="sun:04:30-sun:05:30",
            copy_tags_to_snapshot=True,
            deletion_protection=protect,
            skip_final_snapshot=not protect,
            final_snapshot_identifier=self.name("dumbkv-final") if protect else None,
            auto_minor_version_upgrade=True,
            performance_insights_enabled=cfg.is_prod,
            enabled_cloudwatch_logs_exports=["postgresql"],
            tags=self.tags("dumbkv"),
            opts=self.data(depends_on=[db_logs]),
        )
        self.db_secret_arn = self.db.master_user_secrets.apply(lambda s: s[0].secret_arn or "")
        # dumbkv's own login (a Job creates the role as master): the master password
        # rotates under RDS's control, this one only when the stack changes it.
        app_password = random.RandomPassword(self.name("dumbkv-app"), length=40, special=False)
        app_secret = aws.secretsmanager.Secret(
            self.name("dumbkv-app"),
            description=f"{cfg.prefix}: dumbkv's Postgres login ({APP_DB_USER})",
            kms_key_id=self.key.arn,
            tags=self.tags("dumbkv"),
            opts=self.child(),
        )
        aws.secretsmanager.SecretVersion(
            self.name("dumbkv-app"),
            secret_id=app_secret.id,
            secret_string=pulumi.Output.json_dumps(
                {"username": APP_DB_USER, "password": app_password.result}
            ),
            opts=self.child(),
        )
        self.db_app_secret_arn = app_secret.arn
        self.db_host = self.db.address
        self.register_outputs({"usersTable": self.users_table.name, "bucket": self.bucket.bucket})

    def _table(self, logical: str, hash_key: str, service: str) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            self.name(logical.replace("_", "-")),
            name=self.name(logical),
            billing_mode="PAY_PER_REQUEST",
            hash_key=hash_key,
            attributes=[aws.dynamodb.TableAttributeArgs(name=hash_key, type="S")],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=self.key.arn
            ),
            deletion_protection_enabled=self.cfg.deletion_protection,
            tags=self.tags(service),
            opts=self.data(),
        )

    def _avatars(self, account_id: pulumi.Input[str]) -> aws.s3.Bucket:
        cfg = self.cfg
        tags = self.tags("users")
        bucket = aws.s3.Bucket(
            self.name("avatars"),
            # Globally unique and predictable (rendered manifests can name it).
            bucket=pulumi.Output.concat(cfg.prefix, "-avatars-", account_id),
            force_destroy=not cfg.is_prod,
            tags=tags,
            opts=self.data(),
        )
        aws.s3.BucketPublicAccessBlock(
            self.name("avatars"),
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self.child(),
        )
        aws.s3.BucketOwnershipControls(
            self.name("avatars"),
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self.child(),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            self.name("avatars"),
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=self.key.arn
                    ),
                    bucket_key_enabled=True,  # fewer KMS calls, lower cost
                )
            ],
            opts=self.child(),
        )
        aws.s3.BucketVersioning(
            self.name("avatars"),
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=self.child(),
        )
        aws.s3.BucketLifecycleConfiguration(
            self.name("avatars"),
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=30
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=self.child(),
        )
        aws.s3.BucketPolicy(
            self.name("avatars"),
            bucket=bucket.id,
            policy=policy_json(
                [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket.arn, bucket.arn.apply(lambda arn: f"{arn}/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ]
            ),
            opts=self.child(),
        )
        return bucket
