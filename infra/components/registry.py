"""One ECR repository per service image: immutable tags, scan on push, KMS, lifecycle."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.components.base import Component
from infra.config import StackConfig

IMAGES = ("gateway", "remote", "dumbkv", "predictor", "users", "catalog")


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


class Registry(Component):
    component = "registry"

    def __init__(self, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(cfg, opts)
        self.repositories: dict[str, aws.ecr.Repository] = {}
        for image in IMAGES:
            repo = aws.ecr.Repository(
                self.name(f"ecr-{image}"),
                # The name images.yml pushes to: <ECR_REPOSITORY_PREFIX>/<service>.
                name=f"{cfg.ecr_prefix}/{image}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "KMS"}],
                force_delete=not cfg.is_prod,
                tags=self.tags(image),
                opts=self.child(),
            )
            aws.ecr.LifecyclePolicy(
                self.name(f"ecr-{image}"),
                repository=repo.name,
                policy=lifecycle_policy(cfg.ecr_keep_last),
                opts=self.child(),
            )
            self.repositories[image] = repo
        self.urls = {image: repo.repository_url for image, repo in self.repositories.items()}
        self.register_outputs({"urls": self.urls})
