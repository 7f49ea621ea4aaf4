"""Periodic jobs of a service (ServiceSpec.cron_jobs): the users orphan avatar sweeper runs
as a CronJob of the users image, as the users ServiceAccount, and reaches only HTTPS."""

from __future__ import annotations

from typing import Any

from tests.infra.mocking import ProgramRun


def _object(run: ProgramRun, kind: str, name: str) -> dict[str, Any]:
    (found,) = [
        r.inputs
        for r in run.resources
        if r.type.startswith("kubernetes:")
        and r.inputs.get("kind") == kind
        and r.inputs.get("metadata", {}).get("name") == name
    ]
    return found


def test_the_sweeper_runs_hourly_one_at_a_time_from_the_users_image(prod: ProgramRun) -> None:
    cron = _object(prod, "CronJob", "users-sweep")["spec"]
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    users = _object(prod, "Deployment", "users")["spec"]["template"]["spec"]

    assert container["command"] == ["python", "-m", "users.sweep"]
    assert container["image"] == users["containers"][0]["image"]  # pinned alike
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["schedule"].split()[1:] == ["*", "*", "*", "*"]  # every hour
    assert pod["restartPolicy"] == "Never"


def test_the_sweeper_has_the_users_role_table_and_bucket(prod: ProgramRun) -> None:
    pod = _object(prod, "CronJob", "users-sweep")["spec"]["jobTemplate"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    users = _object(prod, "Deployment", "users")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    users_env = {e["name"]: e.get("value") for e in users["containers"][0]["env"]}

    assert pod["spec"]["serviceAccountName"] == users["serviceAccountName"] == "users"
    for name in ("USERS_TABLE", "USERS_AVATAR_BUCKET", "AWS_REGION"):
        assert env[name] == users_env[name]
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "users-sweep"  # not a users pod


def test_the_sweeper_is_hardened_like_every_workload(prod: ProgramRun) -> None:
    pod = _object(prod, "CronJob", "users-sweep")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = container["securityContext"]

    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"]["memory"]
    assert pod["automountServiceAccountToken"] is False


def test_the_sweeper_takes_no_traffic_and_reaches_only_https(prod: ProgramRun) -> None:
    policy = _object(prod, "NetworkPolicy", "users-sweep")["spec"]

    assert policy["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "users-sweep"}}
    assert policy["ingress"] == []
    assert [rule["ports"] for rule in policy["egress"]] == [[{"protocol": "TCP", "port": 443}]]
