"""VPC across 2 (dev) or 3 (prod) zones: public + private subnets, NAT, endpoints, flow logs.

Cost levers: one NAT gateway in dev (a zone outage cuts dev's egress, accepted) and one
per zone in prod (no cross-zone NAT traffic, no single point of failure); gateway
endpoints for S3 and DynamoDB are free and keep that traffic off NAT; interface
endpoints (ECR, STS, logs) cost ~$7/month/zone each, so only prod has them.
"""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_aws as aws

from infra.components.base import Component, policy_json
from infra.config import StackConfig

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "logs")


def subnet_cidrs(cfg: StackConfig) -> tuple[list[str], list[str]]:
    """(public, private) /20s per zone: public from the bottom of the VPC, private from its
    upper half (room for pods: the VPC CNI gives them VPC addresses)."""
    subnets = list(ipaddress.ip_network(cfg.network.cidr).subnets(new_prefix=20))
    zones = range(len(cfg.network.availability_zones))
    return [str(subnets[i]) for i in zones], [str(subnets[8 + i]) for i in zones]


class Network(Component):
    component = "network"

    def __init__(self, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(cfg, opts)
        net = cfg.network
        zones = net.availability_zones
        public_cidrs, private_cidrs = subnet_cidrs(cfg)
        self.public_cidrs = tuple(public_cidrs)
        tags = self.tags()

        self.vpc = aws.ec2.Vpc(
            self.name("vpc"),
            cidr_block=net.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": self.name("vpc")},
            opts=self.child(),
        )
        igw = aws.ec2.InternetGateway(
            self.name("igw"),
            vpc_id=self.vpc.id,
            tags={**tags, "Name": self.name("igw")},
            opts=self.child(),
        )
        public_rt = aws.ec2.RouteTable(
            self.name("public"),
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": self.name("public")},
            opts=self.child(),
        )

        self.public_subnets: list[aws.ec2.Subnet] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        self.nat_gateways: list[aws.ec2.NatGateway] = []
        private_rts: list[aws.ec2.RouteTable] = []
        for i, zone in enumerate(zones):
            public = aws.ec2.Subnet(
                self.name(f"public-{zone}"),
                vpc_id=self.vpc.id,
                availability_zone=zone,
                cidr_block=public_cidrs[i],
                map_public_ip_on_launch=False,
                tags={**tags, "Name": self.name(f"public-{zone}"), "kubernetes.io/role/elb": "1"},
                opts=self.child(),
            )
            aws.ec2.RouteTableAssociation(
                self.name(f"public-{zone}"),
                subnet_id=public.id,
                route_table_id=public_rt.id,
                opts=self.child(),
            )
            self.public_subnets.append(public)
            if i == 0 or net.nat_per_az:
                eip = aws.ec2.Eip(
                    self.name(f"nat-{zone}"), domain="vpc", tags=tags, opts=self.child()
                )
                self.nat_gateways.append(
                    aws.ec2.NatGateway(
                        self.name(f"nat-{zone}"),
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags={**tags, "Name": self.name(f"nat-{zone}")},
                        opts=self.child(depends_on=[igw]),
                    )
                )
            nat = self.nat_gateways[-1]
            private = aws.ec2.Subnet(
                self.name(f"private-{zone}"),
                vpc_id=self.vpc.id,
                availability_zone=zone,
                cidr_block=private_cidrs[i],
                tags={
                    **tags,
                    "Name": self.name(f"private-{zone}"),
                    "kubernetes.io/role/internal-elb": "1",
                },
                opts=self.child(),
            )
            rt = aws.ec2.RouteTable(
                self.name(f"private-{zone}"),
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={**tags, "Name": self.name(f"private-{zone}")},
                opts=self.child(),
            )
            aws.ec2.RouteTableAssociation(
                self.name(f"private-{zone}"),
                subnet_id=private.id,
                route_table_id=rt.id,
                opts=self.child(),
            )
            self.private_subnets.append(private)
            private_rts.append(rt)

        for service in ("s3", "dynamodb"):
            aws.ec2.VpcEndpoint(
                self.name(f"{service}-endpoint"),
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{cfg.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in private_rts],
                tags=tags,
                opts=self.child(),
            )

        self.interface_endpoints: list[aws.ec2.VpcEndpoint] = []
        if net.interface_endpoints:
            endpoint_sg = aws.ec2.SecurityGroup(
                self.name("endpoints"),
                vpc_id=self.vpc.id,
                description="HTTPS from inside the VPC to the interface endpoints",
                ingress=[
                    aws.ec2.SecurityGroupIngressArgs(
                        protocol="tcp", from_port=443, to_port=443, cidr_blocks=[net.cidr]
                    )
                ],
                tags=tags,
                opts=self.child(),
            )
            for service in INTERFACE_ENDPOINTS:
                self.interface_endpoints.append(
                    aws.ec2.VpcEndpoint(
                        self.name(f"{service.replace('.', '-')}-endpoint"),
                        vpc_id=self.vpc.id,
                        service_name=f"com.amazonaws.{cfg.region}.{service}",
                        vpc_endpoint_type="Interface",
                        private_dns_enabled=True,
                        subnet_ids=[s.id for s in self.private_subnets],
                        security_group_ids=[endpoint_sg.id],
                        tags=tags,
                        opts=self.child(),
                    )
                )

        flow_logs = aws.cloudwatch.LogGroup(
            self.name("flow-logs"),
            name=f"/{cfg.project}/{cfg.stack}/vpc-flow-logs",
            retention_in_days=net.flow_log_retention_days,
            tags=tags,
            opts=self.named(),
        )
        flow_role = aws.iam.Role(
            self.name("flow-logs"),
            name=self.name("flow-logs"),
            assume_role_policy=policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            ),
            tags=tags,
            opts=self.named(),
        )
        aws.iam.RolePolicy(
            self.name("flow-logs"),
            role=flow_role.id,
            policy=policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogStreams",
                        ],
                        "Resource": flow_logs.arn.apply(lambda arn: f"{arn}:*"),
                    }
                ]
            ),
            opts=self.child(),
        )
        aws.ec2.FlowLog(
            self.name("flow-log"),
            vpc_id=self.vpc.id,
            traffic_type="REJECT" if not cfg.is_prod else "ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=flow_logs.arn,
            iam_role_arn=flow_role.arn,
            tags=tags,
            opts=self.child(),
        )

        self.vpc_id = self.vpc.id
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.register_outputs({"vpcId": self.vpc_id, "privateSubnetIds": self.private_subnet_ids})
