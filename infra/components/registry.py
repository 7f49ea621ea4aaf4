"""The registry stack's ECR repositories: one per image, immutable tags, scan on push, KMS,
lifecycle, and a repository policy that lets every workload stack's account pull.

One registry in its own account (infra/registry) instead of one per stack: images.yml
pushes once, dev and prod pull the same bytes (promotion is a digest, not a rebuild), and
no repository name can collide between stacks. See docs/infra.md "Images".
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra.components.base import TYPE_PREFIX
from infra.config import RegistryConfig

IMAGES = ("gateway", "remote", "dumbkv", "predictor", "users", "catalog")
# What a node (image pull) and a preview/deploy role (tag -> digest) of a stack need.
PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
)


def lifecycle_policy(keep_last: int) -> str:
    """Expire untagged images after a week; keep the last `keep_last` of the rest."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "expire untagged images after 7 days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": 7,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"keep the last {keep_last} images",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_last,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


def pull_policy(account_ids: Sequence[str]) -> str:
    """Cross-account pull for the workload accounts (their nodes' PullOnly policy and the
    deploy/preview roles' DescribeImages still have to allow it on their side)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "WorkloadAccountsPull",
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in account_ids]},
                    "Action": list(PULL_ACTIONS),
                }
            ],
        },
        sort_keys=True,
    )


class Registry(pulumi.ComponentResource):
    def __init__(self, cfg: RegistryConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        prefix = f"{cfg.project}-{cfg.stack}"
        super().__init__(f"{TYPE_PREFIX}:Registry", f"{prefix}-registry", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repositories: dict[str, aws.ecr.Repository] = {}
        for image in IMAGES:
            name = f"{prefix}-ecr-{image}"
            repo = aws.ecr.Repository(
                name,
                # The name images.yml pushes to: <prefix>/<service>.
                name=f"{cfg.prefix}/{image}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")
                ],
                tags=cfg.tags(image),
                # Every deployed digest of every stack lives here.
                opts=pulumi.ResourceOptions(parent=self, protect=True, delete_before_replace=True),
            )
            aws.ecr.LifecyclePolicy(
                name, repository=repo.name, policy=lifecycle_policy(cfg.keep_last), opts=child
            )
            aws.ecr.RepositoryPolicy(
                name, repository=repo.name, policy=pull_policy(cfg.pull_account_ids), opts=child
            )
            self.repositories[image] = repo
        self.registry_id = self.repositories[IMAGES[0]].registry_id
        self.host = pulumi.Output.concat(self.registry_id, f".dkr.ecr.{cfg.region}.amazonaws.com")
        self.names = {image: repo.name for image, repo in self.repositories.items()}
        self.register_outputs({"registryHost": self.host, "repositories": self.names})
