"""Where alerts go: one SNS topic per stack, published to by every CloudWatch alarm and by
Alertmanager, with the stack's on-call address subscribed (confirmed once by e-mail)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.components.base import Component
from infra.config import StackConfig


class Alerts(Component):
    component = "alerts"

    def __init__(self, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(cfg, opts)
        self.topic = aws.sns.Topic(
            self.name("alerts"), name=self.name("alerts"), tags=self.tags(), opts=self.named()
        )
        aws.sns.TopicSubscription(
            self.name("alerts-email"),
            topic=self.topic.arn,
            protocol="email",
            endpoint=cfg.alert_email,
            opts=self.child(),
        )
        self.topic_arn = self.topic.arn
        self.register_outputs({"topicArn": self.topic_arn})
