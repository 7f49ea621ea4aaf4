"""TLS for the public hosts: one ACM certificate each, validated through DNS in the stack's
Route 53 zone. The AWS Load Balancer Controller finds them by host (`tls.hosts` of the
Ingress), so no certificate ARN travels into the manifests."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra.components.base import Component
from infra.config import StackConfig


class Edge(Component):
    component = "edge"

    def __init__(
        self,
        cfg: StackConfig,
        *,
        hosts: Sequence[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(cfg, opts)
        self.validations: list[aws.acm.CertificateValidation] = []
        for host in hosts:
            key = host.replace(".", "-")
            cert = aws.acm.Certificate(
                self.name(f"cert-{key}"),
                domain_name=host,
                validation_method="DNS",
                tags=self.tags(),
                opts=self.child(),
            )
            option = cert.domain_validation_options[0]  # one name, one record
            record = aws.route53.Record(
                self.name(f"cert-{key}-validation"),
                zone_id=cfg.dns_zone_id,
                name=option.resource_record_name,
                type=option.resource_record_type,
                records=[option.resource_record_value],
                ttl=300,
                allow_overwrite=True,  # the same record validates a re-issued certificate
                opts=self.child(),
            )
            self.validations.append(
                aws.acm.CertificateValidation(
                    self.name(f"cert-{key}"),
                    certificate_arn=cert.arn,
                    validation_record_fqdns=[record.fqdn],
                    opts=self.child(),
                )
            )
        self.register_outputs({})
