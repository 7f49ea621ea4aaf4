"""The Kubernetes side: every object valid for the cluster version, CRD objects complete,
workloads hardened, dumbkv's two modes, network policies, SLO rules and dashboards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from infra import manifests
from infra.components.network import subnet_cidrs
from infra.components.workloads import CRD_RELEASES
from infra.render_manifests import objects as rendered_objects
from infra.render_manifests import render, stack_config
from infra.services import SQLITE_DIR
from observability.dashboards import render_dashboard
from observability.slo import render_prometheus_rule
from tests.fixtures.slos import scraped_slos
from tests.infra.mocking import ProgramRun

K8S_VERSION = stack_config("prod").cluster.version + ".0"
NOT_OBJECTS = ("pulumi:providers:kubernetes", "kubernetes:helm.sh/v3:Release")


def _objects(run: ProgramRun) -> list[dict[str, Any]]:
    return [
        r.inputs
        for r in run.resources
        if r.type.startswith("kubernetes:") and r.type not in NOT_OBJECTS
    ]


def _find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _kinds(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def test_every_builtin_object_the_program_applies_is_valid_for_the_cluster_version(
    stack_run: ProgramRun,
) -> None:
    checked = 0
    for obj in _objects(stack_run):
        if obj["kind"] in manifests.CRD_KINDS:
            continue
        if obj["kind"] == "Secret":  # generated values are random outputs, unknown here
            obj = {**obj, "stringData": dict.fromkeys(obj["stringData"], "x")}
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        checked += 1
    assert checked > 30


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rendered_manifests_are_valid_too(stack: str) -> None:
    objs = [o for group in rendered_objects(stack_config(stack)).values() for o in group]
    for obj in objs:
        if obj["kind"] not in manifests.CRD_KINDS:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


REQUIRED_CRD_FIELDS: dict[str, list[tuple[str, ...]]] = {
    "ServiceMonitor": [("spec", "selector", "matchLabels"), ("spec", "endpoints")],
    "PrometheusRule": [("spec", "groups")],
    "SecretStore": [("spec", "provider", "aws", "service"), ("spec", "provider", "aws", "region")],
    "ExternalSecret": [("spec", "secretStoreRef", "name"), ("spec", "target", "name")],
}


def _get(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def test_crd_objects_have_their_required_fields(stack_run: ProgramRun) -> None:
    for obj in _objects(stack_run):
        if obj["kind"] not in manifests.CRD_KINDS:
            continue
        assert obj["apiVersion"].split("/")[0] in CRD_RELEASES
        assert obj["metadata"]["name"]
        for path in REQUIRED_CRD_FIELDS[obj["kind"]]:
            assert _get(obj, path), (obj["kind"], path)
        if obj["kind"] == "ExternalSecret":
            assert obj["spec"].get("dataFrom") or obj["spec"].get("data")
        if obj["kind"] == "PrometheusRule":
            for group in obj["spec"]["groups"]:
                assert group["name"]
                assert group["rules"]
                assert all(("record" in r) != ("alert" in r) and r["expr"] for r in group["rules"])


def test_dumbkv_ingress_serves_its_host_on_root_in_prod(prod: ProgramRun) -> None:
    rule = _find(_objects(prod), "Ingress", "dumbkv")["spec"]["rules"][0]
    assert rule["host"] == "dumbkv.example.com"
    assert rule["http"]["paths"][-1]["path"] == "/"
    assert rule["http"]["paths"][-1]["backend"]["service"]["name"] == "dumbkv"


def test_every_container_is_hardened_probed_and_bounded(stack_run: ProgramRun) -> None:
    for dep in _kinds(_objects(stack_run), "Deployment"):
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["terminationGracePeriodSeconds"] > 0
        assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} >= {
            "topology.kubernetes.io/zone"
        }
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert c["livenessProbe"]["httpGet"]["path"] == "/livez"
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert c["resources"]["requests"]
            assert c["resources"]["limits"]
            assert c["lifecycle"]["preStop"]
            assert "@sha256:" in c["image"]


def test_dumbkv_sqlite_mode_is_one_pod_recreated_on_an_efs_volume(dev: ProgramRun) -> None:
    objs = _objects(dev)
    dep = _find(objs, "Deployment", "dumbkv")
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    assert not [
        h for h in _kinds(objs, "HorizontalPodAutoscaler") if h["metadata"]["name"] == "dumbkv"
    ]
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["DATABASE_TYPE"] == "sqlite"
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "data"]
    assert Path(mount["mountPath"]).name == "dumbkvstore" == Path(SQLITE_DIR).name
    assert Path(env["DATABASE_LOCATION"]).parent == Path(mount["mountPath"])
    pvc = _find(objs, "PersistentVolumeClaim", "dumbkv-data")
    assert pvc["spec"]["storageClassName"] == "efs"
    assert _find(objs, "StorageClass", "efs")["provisioner"] == "efs.csi.aws.com"


def test_dumbkv_postgres_mode_scales_out_with_the_url_from_the_rds_secret(prod: ProgramRun) -> None:
    objs = _objects(prod)
    dep = _find(objs, "Deployment", "dumbkv")
    assert "replicas" not in dep["spec"]  # the HPA owns the count
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"
    assert _find(objs, "HorizontalPodAutoscaler", "dumbkv")["spec"]["minReplicas"] == 3
    assert _find(objs, "PodDisruptionBudget", "dumbkv")
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["DATABASE_TYPE"]["value"] == "postgres"
    assert env["DATABASE_LOCATION"]["valueFrom"]["secretKeyRef"] == {
        "name": "dumbkv-database",
        "key": "DATABASE_LOCATION",
    }
    assert not [o for o in objs if o["kind"] == "PersistentVolumeClaim"]
    es = _find(objs, "ExternalSecret", "dumbkv-database")["spec"]
    assert es["dataFrom"][0]["extract"]["key"] == prod.outputs["dbAppSecretArn"]
    template = es["target"]["template"]["data"]["DATABASE_LOCATION"]
    assert template.startswith("postgresql://{{ .username }}:{{ .password | urlquery }}@")
    assert prod.outputs["dbHost"] in template
    # asyncpg sends unknown URL parameters to the server as settings (`?ssl=require`
    # fails the connection: "ssl" cannot be changed now); TLS comes from libpq's variable.
    assert "?" not in template
    assert env["PGSSLMODE"]["value"] == "require"
    store = _find(objs, "SecretStore", "dumbkv-aws")["spec"]["provider"]["aws"]
    assert store["auth"]["jwt"]["serviceAccountRef"]["name"] == "dumbkv"  # its own IRSA role


def test_remote_runs_only_in_dev(dev: ProgramRun, prod: ProgramRun) -> None:
    assert [d for d in _kinds(_objects(dev), "Deployment") if d["metadata"]["name"] == "remote"]
    assert not [
        d for d in _kinds(_objects(prod), "Deployment") if d["metadata"]["name"] == "remote"
    ]


def test_network_policies_default_deny_and_allow_only_the_expected_callers(
    stack_run: ProgramRun,
) -> None:
    objs = _objects(stack_run)
    deny = _find(objs, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}

    def sources(name: str) -> list[dict[str, Any]]:
        return [
            peer
            for rule in _find(objs, "NetworkPolicy", name)["spec"]["ingress"]
            for peer in rule["from"]
        ]

    alb = [{"ipBlock": {"cidr": cidr}} for cidr in subnet_cidrs(stack_config(stack_run.stack))[0]]
    prometheus = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    gateway = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}
    assert sources("gateway") == [*alb, prometheus]
    assert sources("users") == [gateway, prometheus]
    assert sources("dumbkv") == [gateway, *alb, prometheus]


def test_slo_rules_and_dashboards_ship_for_every_service_with_slos(stack_run: ProgramRun) -> None:
    objs = _objects(stack_run)
    rules = {o["metadata"]["name"] for o in _kinds(objs, "PrometheusRule")}
    assert {"gateway-slos", "dumbkv-slos", "users-slos"} <= rules
    dashboards = [
        o
        for o in _kinds(objs, "ConfigMap")
        if o["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    assert {d["metadata"]["name"] for d in dashboards} >= {
        "gateway-dashboard",
        "dumbkv-dashboard",
        "users-dashboard",
    }
    monitors = {o["metadata"]["name"] for o in _kinds(objs, "ServiceMonitor")}
    assert monitors == {d["metadata"]["name"] for d in _kinds(objs, "Deployment")}


@pytest.mark.parametrize("service", sorted(scraped_slos()))
def test_each_service_ships_the_rules_and_dashboard_of_its_own_slos_module(
    dev: ProgramRun, service: str
) -> None:
    slos = scraped_slos()[service]
    objs = _objects(dev)

    rule = _find(objs, "PrometheusRule", f"{service}-slos")
    dashboard = _find(objs, "ConfigMap", f"{service}-dashboard")

    assert rule["spec"] == render_prometheus_rule(service, slos)["spec"]
    assert json.loads(dashboard["data"][f"{service}.json"]) == render_dashboard(service, slos)


def test_env_var_names_are_ones_the_services_read(dev: ProgramRun) -> None:
    from dumbkv.settings import Settings as Dumbkv
    from gateway.settings import Settings as Gateway
    from users.settings import Settings as Users

    def names(settings: Any, prefix: str) -> set[str]:
        out = set()
        for field, info in settings.model_fields.items():
            out.add(prefix + field.upper())
            alias = info.validation_alias
            out.update(getattr(alias, "choices", []) or ([alias] if isinstance(alias, str) else []))
        return out

    known = {
        "gateway": names(Gateway, "GATEWAY_"),
        "dumbkv": names(Dumbkv, "DUMBKV_"),
        "users": names(Users, "USERS_"),
    }
    for dep in _kinds(_objects(dev), "Deployment"):
        service = dep["metadata"]["name"]
        if service in known:
            (container,) = dep["spec"]["template"]["spec"]["containers"]
            assert {e["name"] for e in container["env"]} <= known[service], service


def test_render_manifests_writes_one_yaml_file_per_service(tmp_path: Path) -> None:
    paths = render("prod", tmp_path)
    assert {p.name for p in paths} == {
        "platform.yaml",
        "gateway.yaml",
        "dumbkv.yaml",
        "predictor.yaml",
        "users.yaml",
    }
    docs = [d for p in paths for d in yaml.safe_load_all(p.read_text())]
    assert all(d["apiVersion"] and d["kind"] for d in docs)
    assert "&id" not in (tmp_path / "prod" / "dumbkv.yaml").read_text()


def test_the_mock_model_server_runs_in_dev_only_and_prod_predicts_with_the_real_ones(
    dev: ProgramRun, prod: ProgramRun
) -> None:
    def backend_urls(run: ProgramRun) -> str:
        (container,) = _find(_objects(run), "Deployment", "predictor")["spec"]["template"]["spec"][
            "containers"
        ]
        return {e["name"]: e.get("value") for e in container["env"]}["PREDICTOR_BACKEND_URLS"]

    deployments = {
        name: {d["metadata"]["name"] for d in _kinds(_objects(run), "Deployment")}
        for name, run in (("dev", dev), ("prod", prod))
    }

    assert "predictor-backend" in deployments["dev"]
    assert "predictor-backend" not in deployments["prod"]
    assert backend_urls(dev).startswith("http://predictor-backend.")
    assert backend_urls(prod) == stack_config("prod").model_backend_urls


def test_gateway_and_the_services_share_one_generated_identity_secret(dev: ProgramRun) -> None:
    objs = _objects(dev)
    assert _find(objs, "Secret", "platform-identity")["type"] == "Opaque"  # value: random

    for service in ("gateway", "dumbkv", "users", "predictor", "remote"):
        (container,) = _find(objs, "Deployment", service)["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        ref = env["PLATFORM_IDENTITY_SECRET"]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == ("platform-identity", "secret"), service


def test_gateway_reads_its_api_keys_from_an_optional_read_only_secret(dev: ProgramRun) -> None:
    pod = _find(_objects(dev), "Deployment", "gateway")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "secret-files"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "secret-files"]

    assert env["GATEWAY_KEYS_DB"] == f"{mount['mountPath']}/keys.db"
    assert mount["readOnly"] is True
    assert volume["secret"]["secretName"] == "gateway-api-keys"
    assert volume["secret"]["optional"] is True, "the gateway must start before keys exist"


def test_network_policies_are_enforced_by_the_vpc_cni(stack_run: ProgramRun) -> None:
    cni = stack_run.one("eks:index:Cluster").inputs["vpcCniOptions"]
    assert cni["enableNetworkPolicy"] is True


def test_the_gateway_trusts_forwarded_addresses_only_from_inside_the_vpc(
    stack_run: ProgramRun,
) -> None:
    cidr = stack_config(stack_run.stack).network.cidr
    (container,) = _find(_objects(stack_run), "Deployment", "gateway")["spec"]["template"]["spec"][
        "containers"
    ]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GATEWAY_TRUSTED_PROXIES"] == cidr


def test_dumbkv_restarts_onto_a_rotated_database_password(prod: ProgramRun) -> None:
    objs = _objects(prod)
    dep = _find(objs, "Deployment", "dumbkv")
    es = _find(objs, "ExternalSecret", "dumbkv-database")["spec"]
    reload = dep["metadata"]["annotations"]["secret.reloader.stakater.com/reload"]
    assert reload == es["target"]["name"]
    # RDS rotates the master password weekly; a new one reaches pods within minutes.
    assert es["refreshInterval"] == "5m"
    charts = {r.inputs["chart"] for r in prod.of_type("kubernetes:helm.sh/v3:Release")}
    assert "reloader" in charts


def test_dumbkv_logs_in_as_its_own_role_not_the_rotated_master(prod: ProgramRun) -> None:
    objs = _objects(prod)
    es = _find(objs, "ExternalSecret", "dumbkv-database")["spec"]
    (app_secret,) = prod.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    value = app_secret.inputs["secretString"]
    app = json.loads(value["value"] if isinstance(value, dict) else value)  # a secret
    master_user = prod.one("aws:rds/instance:Instance").inputs["username"]

    assert es["dataFrom"][0]["extract"]["key"] == prod.outputs["dbAppSecretArn"]
    assert es["dataFrom"][0]["extract"]["key"] != prod.outputs["dbSecretArn"]
    assert app["username"] == "dumbkv_app" != master_user


def test_a_job_creates_dumbkvs_role_as_master_from_the_dumbkv_image(prod: ProgramRun) -> None:
    objs = _objects(prod)
    job = _find(objs, "Job", "dumbkv-db-role")["spec"]["template"]["spec"]
    (container,) = job["containers"]
    dumbkv = _find(objs, "Deployment", "dumbkv")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == dumbkv["image"]  # pinned by digest like every workload
    script = container["command"][-1]
    assert "CREATE ROLE" in script
    assert "OWNER TO" in script  # tables made by the master before move to the app role
    env = {e["name"]: e for e in container["env"]}
    assert env["PGSSLMODE"]["value"] == "require"
    assert (
        "?"
        not in _find(objs, "ExternalSecret", "dumbkv-db-admin")["spec"]["target"]["template"][
            "data"
        ]["MASTER_LOCATION"]
    )
    admin = _find(objs, "ExternalSecret", "dumbkv-db-admin")["spec"]
    keys = {d["extract"]["key"] for d in admin["dataFrom"]}
    assert keys == {prod.outputs["dbSecretArn"], prod.outputs["dbAppSecretArn"]}
    assert env["MASTER_LOCATION"]["valueFrom"]["secretKeyRef"]["name"] == "dumbkv-db-admin"


def test_dumbkv_may_read_its_app_secret_and_decrypt_it(prod: ProgramRun) -> None:
    (policy,) = [
        p for p in prod.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-dumbkv-irsa")
    ]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    resources = {
        r
        for s in statements
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    assert prod.outputs["dbAppSecretArn"] in resources
    assert prod.outputs["dataKeyArn"] in resources
