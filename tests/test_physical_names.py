"""Many environments share one account and region: no physical name may be claimed twice.

The names are read from the compiled templates, not from config.names: every top-level resource
property whose key ends in `Name` (plus `Family`), resolved through the template's parameters,
the root's nested-stack parameters and the children's outputs, with the account and region the
environments share. A name CloudFormation generates (a Ref or GetAtt of a resource) cannot
collide and is left out. Each name is checked against its service's documented length limit.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict

import pytest

from enrollcfn import compiler
from enrollcfn.config import Config

ACCOUNT = "123456789012"
REGIONS = ("ap-southeast-2", "us-east-1")
LONGEST = "e" * 31 + "z"  # the longest environment name config.model.Slug allows (32)
ENVIRONMENTS = ("production", "staging", "dev", LONGEST)

# Maximum length of each physical name, from each service's API reference / CloudFormation
# resource reference (not from this project's code).
LIMITS = {
    ("AWS::ECR::Repository", "RepositoryName"): 256,
    ("AWS::ECS::Cluster", "ClusterName"): 255,
    ("AWS::ECS::Service", "ServiceName"): 255,
    ("AWS::ECS::TaskDefinition", "Family"): 255,
    ("AWS::Logs::LogGroup", "LogGroupName"): 512,
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"): 128,
    ("AWS::IAM::Role", "RoleName"): 64,
    ("AWS::ApplicationAutoScaling::ScalingPolicy", "PolicyName"): 256,
    ("AWS::Route53::RecordSet", "Name"): 253,  # RFC 1035, without the trailing dot
    ("AWS::Lambda::Function", "FunctionName"): 64,
    ("AWS::Events::Rule", "Name"): 64,
    ("AWS::SQS::Queue", "QueueName"): 80,
    ("AWS::SNS::Topic", "TopicName"): 256,
    ("AWS::S3::Bucket", "BucketName"): 63,
    ("AWS::SecretsManager::Secret", "Name"): 512,
    ("AWS::SSM::Parameter", "Name"): 2048,
    ("AWS::CloudWatch::Alarm", "AlarmName"): 255,
    ("AWS::Budgets::Budget", "BudgetName"): 100,
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name"): 32,
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Name"): 32,
    ("AWS::ServiceCatalog::Portfolio", "DisplayName"): 100,
    ("AWS::ServiceCatalog::CloudFormationProduct", "Name"): 8191,
}

# Properties ending in Name that are not names an account holds once.
NOT_PHYSICAL = {
    ("AWS::RDS::DBInstance", "DBName"): "the schema inside the instance",
    ("AWS::RDS::OptionGroup", "EngineName"): "the engine",
    ("AWS::EC2::VPCEndpoint", "ServiceName"): "the AWS service the endpoint reaches",
    ("AWS::CertificateManager::Certificate", "DomainName"): "any number of certificates may cover one domain",
    ("AWS::CloudWatch::Alarm", "MetricName"): "the AWS metric watched",
    ("AWS::Lambda::Permission", "FunctionName"): "the function the permission is for",
    ("AWS::EC2::FlowLog", "LogGroupName"): "the group the flow log writes to",
    ("AWS::RDS::DBParameterGroup", "Family"): "the engine family the parameters are for",
    ("Custom::OneOffTask", "ContainerName"): "the container of the task the custom resource runs",
}

_SUB = re.compile(r"\$\{([^}!]+)\}")


class Resolver:
    """Turns a property value into the string CloudFormation would send, or None when it is not
    known before the stack exists (a generated name)."""

    def __init__(self, build: compiler.Build, stack_name: str):
        self.build, self.stack_name = build, stack_name
        root = build.stacks["root"].doc["Resources"]
        # child stack -> (its logical id in the root, the parameters the root passes it)
        self.parents = {
            r["Properties"]["TemplateURL"].removesuffix(".yaml"): (rid, r["Properties"].get("Parameters", {}))
            for rid, r in root.items() if r["Type"] == "AWS::CloudFormation::Stack"
        }
        self.children = {rid: child for child, (rid, _) in self.parents.items()}

    def pseudo(self, stack: str, name: str) -> str | None:
        nested = f"{self.stack_name}-{self.parents[stack][0]}-ABCDEF" if stack in self.parents else None
        return {"AWS::AccountId": ACCOUNT, "AWS::Region": self.build.region, "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackName": nested or (self.stack_name if stack == "root" else f"{self.stack_name}-{stack}")}.get(name)

    def ref(self, stack: str, name: str) -> str | None:
        if name.startswith("AWS::"):
            return self.pseudo(stack, name)
        doc = self.build.stacks[stack].doc
        if name not in doc.get("Parameters", {}):
            return None  # a resource: CloudFormation names it
        if stack in self.parents and name in self.parents[stack][1]:
            return self.value("root", self.parents[stack][1][name])
        default = doc["Parameters"][name].get("Default")
        return None if default is None else str(default)

    def value(self, stack: str, v) -> str | None:
        if isinstance(v, (str, int)):
            return str(v)
        if not isinstance(v, dict) or len(v) != 1:
            return None
        [(fn, arg)] = v.items()
        if fn == "Ref":
            return self.ref(stack, arg)
        if fn == "Fn::GetAtt" and stack == "root" and arg[1].startswith("Outputs."):
            child = self.children[arg[0]]
            return self.value(child, self.build.stacks[child].doc["Outputs"][arg[1].removeprefix("Outputs.")]["Value"])
        if fn == "Fn::Join":
            parts = [self.value(stack, p) for p in arg[1]]
            return None if None in parts else arg[0].join(parts)
        if fn == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else arg
            parts = {m: (self.value(stack, local[m]) if m in local else self.ref(stack, m)) for m in _SUB.findall(text)}
            return None if None in parts.values() else _SUB.sub(lambda m: parts[m[1]], text)
        return None


def physical_names(cfg: Config) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(type, property) -> [(where, name)] for every fixed name in the compiled stacks."""
    build = compiler.compile(cfg)
    resolver = Resolver(build, f"se-{cfg.environment}")
    found = defaultdict(list)
    for stack, compiled in build.stacks.items():
        for rid, resource in compiled.doc.get("Resources", {}).items():
            for key, v in resource.get("Properties", {}).items():
                kind = (resource["Type"], key)
                if not (key.endswith("Name") or key == "Family") or kind in NOT_PHYSICAL:
                    continue
                if resource["Type"] == "AWS::CloudFormation::Stack":
                    continue
                name = resolver.value(stack, v)
                if name is not None:
                    found[kind].append((f"{stack}/{rid}.{key}", name))
    return found


@pytest.fixture(scope="module", params=REGIONS)
def names_by_environment(request):
    return {env: physical_names(Config(environment=env, production=env == "production", region=request.param,
                                       **({} if env == "production" else {"network": {"mode": "public"}})))
            for env in ENVIRONMENTS}


def test_a_property_is_either_a_physical_name_or_not_one():
    assert not NOT_PHYSICAL.keys() & LIMITS.keys()


def test_no_physical_name_is_shared_between_environments(names_by_environment):
    for (a, names_a), (b, names_b) in itertools.combinations(names_by_environment.items(), 2):
        for kind in names_a.keys() & names_b.keys():
            shared = {n for _, n in names_a[kind]} & {n for _, n in names_b[kind]}
            assert not shared, f"{kind} {sorted(shared)} is claimed by both {a} and {b}"


def test_every_physical_name_has_a_documented_limit_and_keeps_it(names_by_environment):
    for env, names in names_by_environment.items():
        for kind, entries in names.items():
            assert kind in LIMITS, f"{kind} ({entries[0][0]}) has no documented limit in this test: add it"
            for where, name in entries:
                assert len(name) <= LIMITS[kind], f"{env}: {where} = {name!r} is {len(name)} characters, over {LIMITS[kind]}"


def test_the_collection_sees_the_names_a_user_would_look_for(names_by_environment):
    # A guard for the test itself: the seed's fixed names (seed inventory: repository, cluster,
    # service, log group, the API record) are among those found.
    found = names_by_environment["production"]
    assert {n for _, n in found[("AWS::ECR::Repository", "RepositoryName")]} == {"student-enrollment-production"}
    assert {n for _, n in found[("AWS::Route53::RecordSet", "Name")]} == {"server.martincaringal.co.nz"}
    assert ("AWS::Logs::LogGroup", "LogGroupName") in found and ("AWS::ECS::Cluster", "ClusterName") in found
    assert {n for _, n in names_by_environment["dev"][("AWS::Route53::RecordSet", "Name")]} == {"dev-server.martincaringal.co.nz"}


def test_an_environment_can_run_another_environments_repository_without_creating_it(names_by_environment):
    [(_, production_repository)] = names_by_environment["production"][("AWS::ECR::Repository", "RepositoryName")]
    dev = Config(environment="dev", production=False, network={"mode": "public"},
                 registry={"create": False, "repository_name": production_repository})
    bootstrap = compiler.compile(dev).stacks["bootstrap"].doc
    assert "AWS::ECR::Repository" not in {r["Type"] for r in bootstrap["Resources"].values()}
    assert bootstrap["Outputs"]["RepositoryName"]["Value"] == production_repository
    # the URI the service pulls from, in ECR's documented form <account>.dkr.ecr.<region>.<suffix>/<name>
    assert bootstrap["Outputs"]["RepositoryUri"]["Value"] == {
        "Fn::Sub": f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{production_repository}"}
