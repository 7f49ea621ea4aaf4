"""Run a Pulumi program under `pulumi.runtime.set_mocks`, isolated, and record what it registered.

Each run happens on a fresh thread: Pulumi keeps its settings, root stack and config in
ContextVars, and a new thread starts from an empty context, so dev and prod (or any two
runs) never see each other's state whatever the test order or xdist worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.proto import provider_pb2, resource_pb2

PROJECT = "platform"
ORGANIZATION = "acme"
ACCOUNT = "123456789012"
REGISTRY_ACCOUNT = "333333333333"
REGION = "us-east-1"
# What the registry stack's StackReference answers (infra/registry_program.py's outputs).
REGISTRY_OUTPUTS = {
    "registryId": REGISTRY_ACCOUNT,
    "registryHost": f"{REGISTRY_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
    "repositories": {
        image: f"platform/{image}"
        for image in ("gateway", "remote", "dumbkv", "predictor", "users", "catalog")
    },
}


def digest_of(repository: str, tag: str) -> str:
    """The digest the mocked ECR resolves `repository:tag` to (stable, distinct per pair)."""
    return "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()


@dataclass(frozen=True)
class Registered:
    """One resource as the engine would see it: its type token, name and (camelCase) inputs."""

    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    urn: str
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    delete_before_replace: bool = False


@dataclass
class ProgramRun:
    stack: str
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    taggable_types: set[str] = field(default_factory=set)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name_contains: str = "") -> Registered:
        found = [r for r in self.of_type(type_) if name_contains in r.name]
        assert len(found) == 1, f"expected one {type_} named *{name_contains}*, got {found}"
        return found[0]


_EKS_CLUSTER_OUTPUTS = {
    "kubeconfig": {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": []},
    "kubeconfigJson": '{"apiVersion": "v1", "kind": "Config"}',
    "clusterSecurityGroupId": "sg-cluster",
    "nodeSecurityGroupId": "sg-nodes",
    "oidcProviderArn": (
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.{REGION}.amazonaws.com/id/MOCK"
    ),
    "oidcProviderUrl": f"https://oidc.eks.{REGION}.amazonaws.com/id/MOCK",
    "oidcIssuer": f"oidc.eks.{REGION}.amazonaws.com/id/MOCK",
}


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that echo inputs for custom resources (plus ids/arns) and give explicit outputs
    for remote components (pulumi-eks), whose inputs must not be echoed."""

    def __init__(self, run: ProgramRun) -> None:
        self.run = run

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        name, typ, inputs = args.name, args.typ, dict(args.inputs)
        outputs: dict[str, Any]
        if typ == "eks:index:Cluster":
            outputs = {**_EKS_CLUSTER_OUTPUTS, "eksCluster": None}
            outputs["clusterName"] = inputs.get("name", name)
        elif typ == "eks:index:ManagedNodeGroup":
            outputs = {}
        elif typ == "pulumi:pulumi:StackReference":
            outputs = {**inputs, "outputs": REGISTRY_OUTPUTS, "secretOutputNames": []}
        else:
            outputs = dict(inputs)
            arn_kind = typ.split(":")[1].split("/")[0]
            outputs.setdefault(
                "arn", f"arn:aws:{arn_kind}:{REGION}:{ACCOUNT}:{inputs.get('name') or name}"
            )
            outputs.setdefault("name", name)
            if typ == "aws:ecr/repository:Repository":
                outputs["repositoryUrl"] = (
                    f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{inputs.get('name', name)}"
                )
                outputs["registryId"] = ACCOUNT
            if typ == "aws:rds/instance:Instance":
                outputs["endpoint"] = f"{name}.abc.{REGION}.rds.amazonaws.com:5432"
                outputs["address"] = f"{name}.abc.{REGION}.rds.amazonaws.com"
                outputs["masterUserSecrets"] = [
                    {"secretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!{name}"}
                ]
            if typ == "aws:apigatewayv2/api:Api":
                outputs["apiEndpoint"] = f"https://{name}.execute-api.{REGION}.amazonaws.com"
                outputs["executionArn"] = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{name}"
            if typ == "aws:lambda/function:Function":
                outputs["version"] = "1"
                outputs["invokeArn"] = f"arn:aws:apigateway:{REGION}:lambda:path/{name}"
            if typ == "aws:acm/certificate:Certificate":
                domain = inputs["domainName"]
                outputs["domainValidationOptions"] = [
                    {
                        "domainName": domain,
                        "resourceRecordName": f"_x.{domain}.",
                        "resourceRecordType": "CNAME",
                        "resourceRecordValue": "_y.acm-validations.aws.",
                    }
                ]
            if typ == "aws:route53/record:Record":
                outputs["fqdn"] = inputs["name"].rstrip(".")
            if typ == "random:index/randomPassword:RandomPassword":
                outputs["result"] = "x" * int(inputs.get("length", 16))
            if typ == "aws:s3/bucket:Bucket":
                outputs.setdefault("bucket", name)
        self.run.resources.append(Registered(typ, name, inputs, outputs, urn=""))
        return f"{name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return self._answer(args.token, dict(args.args)), []

    @staticmethod
    def _answer(token: str, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        args = args or {}
        if token == "aws:ecr/getImage:getImage":
            repository, tag = args["repositoryName"], args["imageTag"]
            return {
                "imageDigest": digest_of(repository, tag),
                "imageTags": [tag],
                "repositoryName": repository,
                "registryId": args.get("registryId", ACCOUNT),
            }
        if token == "eks:index:Cluster/getKubeconfig":
            return {"result": '{"apiVersion": "v1", "kind": "Config"}'}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/mock",
                "userId": "mock",
            }
        if token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [f"{REGION}{z}" for z in "abcdef"], "zoneIds": []}
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return {"json": "{}"}
        return {}


class NoResourceReferencesMonitor(pulumi_mocks.MockMonitor):
    """The stock MockMonitor with resource references switched off: pulumi-eks's
    ManagedNodeGroup, given the Cluster, otherwise deserialises the reference on the
    monitor's thread and fails with 'attached to a different loop'."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self._lock = threading.Lock()
        self._run = mocks.run

    def RegisterResource(self, request: Any) -> Any:
        """The stock registration, plus the real URN and property dependencies recorded
        (policies match e.g. a bucket's public access block through them, as in preview)."""
        with self._lock:
            before = len(self._run.resources)
            response = super().RegisterResource(request)
            if len(self._run.resources) > before:
                last = self._run.resources[-1]
                deps = {k: list(v.urns) for k, v in request.propertyDependencies.items()}
                self._run.resources[-1] = replace(
                    last,
                    urn=response.urn,
                    property_dependencies=deps,
                    protect=bool(request.protect),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                )
            return response

    def SupportsFeature(self, request: Any) -> Any:
        if request.id == "resourceReferences":
            return type("SupportsFeatureResponse", (object,), {"hasSupport": False})
        return super().SupportsFeature(request)

    def GetDeploymentInfo(self, request: Any) -> Any:
        info = super().GetDeploymentInfo(request)
        features = [
            f
            for f in info.supportedFeatures
            if f != resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES
        ]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def Call(self, request: Any) -> Any:
        """Method calls on components (`Cluster.get_kubeconfig()`), answered by the mocks
        (plain JSON values, so the protobuf Struct holds them as they are)."""
        response = provider_pb2.CallResponse()
        getattr(response, "return").update(RecordingMocks._answer(request.tok))
        return response


def _record_taggable(run: ProgramRun) -> Callable[[pulumi.ResourceTransformationArgs], None]:
    def transformation(args: pulumi.ResourceTransformationArgs) -> None:
        init = getattr(type(args.resource), "_internal_init", type(args.resource).__init__)
        try:
            params = inspect.signature(init).parameters
        except (TypeError, ValueError):
            return None
        if args.type_.startswith("aws:") and "tags" in params:
            run.taggable_types.add(args.type_)
        return None

    return transformation


def run_program(
    stack: str,
    config: Mapping[str, Any],
    program: Callable[[], Mapping[str, Any]],
    *,
    project: str = PROJECT,
    timeout_s: float = 120.0,
) -> ProgramRun:
    """Run `program` (returns its outputs) as stack `stack` with `config` (keys without the
    project prefix) under mocks, preview=False; return everything it registered."""
    run = ProgramRun(stack=stack)
    errors: list[BaseException] = []

    def target() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            mocks = RecordingMocks(run)
            pulumi.runtime.set_mocks(
                mocks,
                project=project,
                stack=stack,
                preview=False,
                monitor=NoResourceReferencesMonitor(mocks),
                organization=ORGANIZATION,
            )
            pulumi.runtime.set_all_config(
                {
                    (k if ":" in k else f"{project}:{k}"): (
                        v if isinstance(v, str) else __import__("json").dumps(v)
                    )
                    for k, v in config.items()
                }
            )
            pulumi.runtime.register_stack_transformation(_record_taggable(run))

            def main() -> pulumi.Output[None]:
                # `pulumi.runtime.test` waits for every registration the program started,
                # and for the outputs returned here.
                outputs = program()
                return pulumi.Output.all(**dict(outputs)).apply(run.outputs.update)

            pulumi.runtime.test(main)()
        except BaseException as error:
            errors.append(error)
        finally:
            loop.close()

    thread = threading.Thread(target=target, name=f"pulumi-{stack}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"the {stack} program did not finish in {timeout_s}s")
    if errors:
        raise errors[0]
    return run
