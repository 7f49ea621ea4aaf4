"""Alarms and alerts reach someone: an SNS topic per stack that CloudWatch alarms and
Alertmanager publish to; Prometheus scrapes only what EKS exposes, keeps its data on a
volume, and Grafana has no default password (finding 13)."""

from __future__ import annotations

from typing import Any

from tests.infra.mocking import ProgramRun

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # pragma: allowlist secret - Pulumi wire signature


def _values(run: ProgramRun, chart: str) -> dict[str, Any]:
    (release,) = [
        r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == chart
    ]
    return release.inputs["values"]


def test_every_alarm_notifies_the_stacks_alerts_topic(stack_run: ProgramRun) -> None:
    topic = stack_run.one("aws:sns/topic:Topic")
    alarms = stack_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarms
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
        assert alarm.inputs["okActions"] == [topic.outputs["arn"]]
    assert (
        stack_run.one("aws:sns/topicSubscription:TopicSubscription").inputs["protocol"] == "email"
    )


def test_alertmanager_routes_alerts_to_the_topic_as_its_own_irsa_role(
    stack_run: ProgramRun,
) -> None:
    topic = stack_run.one("aws:sns/topic:Topic").outputs["arn"]
    alertmanager = _values(stack_run, "kube-prometheus-stack")["alertmanager"]
    config = alertmanager["config"]
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers[config["route"]["receiver"]]["sns_configs"][0]["topic_arn"] == topic
    role = alertmanager["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role.endswith("-alertmanager-irsa")


def test_prometheus_scrapes_only_what_eks_exposes(stack_run: ProgramRun) -> None:
    values = _values(stack_run, "kube-prometheus-stack")
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[component]["enabled"] is False, component


def test_prometheus_and_alertmanager_keep_their_data_on_volumes(stack_run: ProgramRun) -> None:
    values = _values(stack_run, "kube-prometheus-stack")
    for storage in (
        values["prometheus"]["prometheusSpec"]["storageSpec"],
        values["alertmanager"]["alertmanagerSpec"]["storage"],
    ):
        claim = storage["volumeClaimTemplate"]["spec"]
        assert claim["storageClassName"] == "gp3"
        assert claim["resources"]["requests"]["storage"]
    addons = {a.inputs["addonName"] for a in stack_run.of_type("aws:eks/addon:Addon")}
    assert "aws-ebs-csi-driver" in addons


def test_grafana_has_a_generated_admin_password(stack_run: ProgramRun) -> None:
    grafana = _values(stack_run, "kube-prometheus-stack")["grafana"]
    assert "adminPassword" not in grafana
    secret = grafana["admin"]["existingSecret"]
    (obj,) = [
        s.inputs
        for s in stack_run.of_type("kubernetes:core/v1:Secret")
        if s.inputs["metadata"]["name"] == secret
    ]
    assert obj["metadata"]["namespace"] == "monitoring"
    data = obj["stringData"]
    data = data.get("value", data) if SECRET_SIG in data else data  # a secret output
    assert set(data) == {grafana["admin"]["userKey"], grafana["admin"]["passwordKey"]}
