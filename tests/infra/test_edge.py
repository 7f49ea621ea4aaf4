"""The internet-facing edge is maintained: AWS Load Balancer Controller with an ALB Ingress
per public host, TLS from ACM (DNS-validated), /metrics refused at the ALB, and only the
ALB's subnets may reach the public services (finding 7; ingress-nginx is retired)."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from infra.render_manifests import stack_config
from tests.infra.mocking import ProgramRun

NOT_OBJECTS = ("pulumi:providers:kubernetes", "kubernetes:helm.sh/v3:Release")


def _objects(run: ProgramRun, kind: str) -> list[dict[str, Any]]:
    return [
        r.inputs
        for r in run.resources
        if r.type.startswith("kubernetes:") and r.type not in NOT_OBJECTS
        if r.inputs.get("kind") == kind
    ]


def _charts(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["chart"]: r.inputs for r in run.of_type("kubernetes:helm.sh/v3:Release")}


def _route(ingress: dict[str, Any], path: str) -> dict[str, Any]:
    """The backend the ALB sends `path` to: the first matching rule, in the listed order."""
    for p in ingress["spec"]["rules"][0]["http"]["paths"]:
        prefix = p["path"].rstrip("/")
        if path == p["path"] or path.startswith(prefix + "/") or p["path"] == "/":
            return p["backend"]["service"]
    raise AssertionError(path)


def test_the_edge_is_the_aws_load_balancer_controller_not_ingress_nginx(
    stack_run: ProgramRun,
) -> None:
    charts = _charts(stack_run)
    assert "ingress-nginx" not in charts
    lbc = charts["aws-load-balancer-controller"]
    assert lbc["namespace"] == "kube-system"
    sa = lbc["values"]["serviceAccount"]
    assert sa["annotations"]["eks.amazonaws.com/role-arn"].endswith("-lb-controller-irsa")
    for ingress in _objects(stack_run, "Ingress"):
        assert ingress["spec"]["ingressClassName"] == "alb"
        annotations = ingress["metadata"]["annotations"]
        assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
        assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
        assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"


def test_every_public_host_has_a_dns_validated_acm_certificate(stack_run: ProgramRun) -> None:
    cfg = stack_config(stack_run.stack)
    certs = {
        c.inputs["domainName"]: c.inputs
        for c in stack_run.of_type("aws:acm/certificate:Certificate")
    }
    hosts = {i["spec"]["tls"][0]["hosts"][0] for i in _objects(stack_run, "Ingress")}
    assert hosts == set(certs) == {cfg.gateway_host, cfg.dumbkv.host}
    assert {c["validationMethod"] for c in certs.values()} == {"DNS"}
    validations = stack_run.of_type("aws:acm/certificateValidation:CertificateValidation")
    assert len(validations) == len(certs)
    zones = {r.inputs["zoneId"] for r in stack_run.of_type("aws:route53/record:Record")}
    assert zones == {cfg.dns_zone_id}


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/metrics/x"])
def test_an_internet_caller_cannot_read_metrics_through_the_alb(
    stack_run: ProgramRun, path: str
) -> None:
    for ingress in _objects(stack_run, "Ingress"):
        backend = _route(ingress, path)
        assert backend["port"] == {"name": "use-annotation"}
        action = json.loads(
            ingress["metadata"]["annotations"][
                f"alb.ingress.kubernetes.io/actions.{backend['name']}"
            ]
        )
        assert action["type"] == "fixed-response"
        assert action["fixedResponseConfig"]["statusCode"] == "404"
        assert _route(ingress, "/graphql")["port"] != {"name": "use-annotation"}


def test_only_the_albs_subnets_may_reach_the_public_services(stack_run: ProgramRun) -> None:
    public = [
        ipaddress.ip_network(s.inputs["cidrBlock"])
        for s in stack_run.of_type("aws:ec2/subnet:Subnet")
        if "public" in s.name
    ]
    policies = {p["metadata"]["name"]: p for p in _objects(stack_run, "NetworkPolicy")}
    for service in ("gateway", "dumbkv"):
        blocks = [
            ipaddress.ip_network(peer["ipBlock"]["cidr"])
            for rule in policies[service]["spec"]["ingress"]
            for peer in rule["from"]
            if "ipBlock" in peer
        ]
        assert sorted(blocks) == sorted(public), service


def test_the_controller_changes_only_load_balancers_it_tagged(stack_run: ProgramRun) -> None:
    (policy,) = [
        p
        for p in stack_run.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.name.endswith("-lb-controller-irsa")
    ]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    deletes = [
        (sid, a)
        for sid, s in statements.items()
        for a in s["Action"]
        if ":Delete" in a and sid != "Listeners"
    ]
    assert deletes
    for sid, _ in deletes:
        condition = json.dumps(statements[sid].get("Condition", {}))
        assert "elbv2.k8s.aws/cluster" in condition, sid
    assert all(
        ":Describe" in a or ":Get" in a or ":List" in a for a in statements["Read"]["Action"]
    )
