"""An environment comes back after `destroy`, end to end against the local AWS (the patched moto
server, patch 14 models ChangeSetType IMPORT): `bootstrap` creates only NAME-bootstrap and prints
the push commands, a release is pushed and deployed, `destroy` keeps the repository with its image
(DeletionPolicy Retain), and the next `deploy` adopts it by resource import instead of failing
with RepositoryAlreadyExistsException. A repository tagged for another environment, and a hosted
zone that does not exist, stop `bootstrap` and `deploy` before any stack is created.

Facts asserted, from outside the code: a resource import is a change set of ChangeSetType IMPORT
whose ResourcesToImport names the type's primary identifier (botocore's CloudFormation model;
cfn-lint's registry schema of AWS::ECR::Repository), and the stack holding a resource is the one
DescribeStackResources names for its PhysicalResourceId.
"""

from __future__ import annotations


import boto3
import pytest
import yaml

from enrollcfn import compiler
from enrollcfn.config import load
from enrollcfn.changesets import DeployError
from enrollcfn.errors import Problems
from enrollcfn.local import server as localaws
from tests.conftest import run_cli
from enrollcfn.pipeline import Clients, Console, Options, Run, bootstrap, run

STACK = "se-ad"
BOOT = f"{STACK}-bootstrap"


def live_stacks() -> set[str]:
    return {s["StackName"] for s in boto3.client("cloudformation").list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"}


def pipeline_run(stack: str, lines: list[str], **opts) -> Run:
    c = boto3.client
    clients = Clients(c("cloudformation"), s3=c("s3"), ecr=c("ecr"), route53=c("route53"), ecs=c("ecs"), iam=c("iam"))
    return Run(clients, Options(stack=stack, yes=True, **opts), Console(report=lines.append))


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    """A local AWS with the dev config's public hosted zone; `write(**changes)` writes a config."""
    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        base = yaml.safe_load(open("config/dev.yaml", encoding="utf-8"))
        zone = boto3.client("route53").create_hosted_zone(Name=load("config/dev.yaml").dns.zone_name, CallerReference="ad")["HostedZone"]["Id"]
        base.setdefault("dns", {})["hosted_zone_id"] = zone.rsplit("/", 1)[-1]
        tmp = tmp_path_factory.mktemp("ad")

        def write(name: str, **sections) -> str:
            doc = {**base, **{k: {**base.get(k, {}), **v} for k, v in sections.items()}}
            path = tmp / f"{name}.yaml"
            path.write_text(yaml.safe_dump(doc))
            return str(path)

        yield write


@pytest.fixture(scope="module")
def comeback(aws):
    """bootstrap, push, deploy, destroy, deploy again; what each step said and left."""
    path = aws("dev")
    cfg = load(path)
    steps: dict = {"cfg": cfg}
    lines: list[str] = []
    steps["bootstrap"] = bootstrap(pipeline_run(STACK, lines), cfg, compiler.compile(cfg))
    steps["bootstrap_lines"], steps["after_bootstrap"] = lines, live_stacks()
    ecr = boto3.client("ecr")
    steps["digest"] = localaws.push_image(ecr, cfg.registry.repository_name, "release-1", "comeback")
    steps["deploy"] = run_cli("deploy", "--stack", STACK, "--config", path, "--yes", "--image-tag", "release-1")
    steps["destroy"] = run_cli("destroy", "--stack", STACK, "--config", path, "--yes", "--disable-termination-protection")
    steps["after_destroy"] = live_stacks()
    steps["images_after_destroy"] = ecr.list_images(repositoryName=cfg.registry.repository_name)["imageIds"]
    steps["again"] = run_cli("deploy", "--stack", STACK, "--config", path, "--yes", "--image-tag", "release-1")
    cfn = boto3.client("cloudformation")
    steps["boot_resources"] = {r["LogicalResourceId"]: r for r in cfn.list_stack_resources(StackName=BOOT)["StackResourceSummaries"]}
    steps["owner"] = cfn.describe_stack_resources(PhysicalResourceId=cfg.registry.repository_name)["StackResources"]
    steps["images_after"] = ecr.list_images(repositoryName=cfg.registry.repository_name)["imageIds"]
    steps["root"] = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    steps["boot"] = cfn.describe_stacks(StackName=BOOT)["Stacks"][0]
    return steps


def test_bootstrap_creates_only_the_bootstrap_stack_and_prints_the_push_commands(comeback):
    assert comeback["after_bootstrap"] == {BOOT}
    uri = comeback["bootstrap"].outputs["RepositoryUri"]
    assert uri.endswith("/" + comeback["cfg"].registry.repository_name)
    said = "\n".join(comeback["bootstrap_lines"])
    assert f"ECR repository {uri}" in said and f"docker push {uri}:release-1" in said and "--image-tag release-1" in said


def test_destroy_keeps_the_repository_with_its_image(comeback):
    code, out, err = comeback["deploy"]
    assert code == 0, err
    code, out, err = comeback["destroy"]
    assert code == 0, err
    assert comeback["after_destroy"] == set()
    assert [i["imageDigest"] for i in comeback["images_after_destroy"]] == [comeback["digest"]]


def test_deploy_after_destroy_adopts_the_kept_repository_and_succeeds(comeback):
    code, out, err = comeback["again"]
    assert code == 0, err
    name = comeback["cfg"].registry.repository_name
    assert f"adopting the kept repository {name} (1 image) into {BOOT}" in out + err
    assert comeback["root"]["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    # the new bootstrap stack holds the very repository, found by its physical id, and every
    # other resource the update added after the import
    assert comeback["boot_resources"]["Repository"]["PhysicalResourceId"] == name
    assert {"ArtifactBucket", "PermissionsBoundary", "Repository"} <= set(comeback["boot_resources"])
    assert {r["StackName"] for r in comeback["owner"]} == {BOOT}
    assert comeback["boot"]["StackStatus"] == "UPDATE_COMPLETE"
    assert [i["imageDigest"] for i in comeback["images_after"]] == [comeback["digest"]]


def test_a_repository_tagged_for_another_environment_is_refused_before_anything_is_created(aws):
    path = aws("other", registry={"repository_name": "shared-name"})
    cfg = load(path)
    boto3.client("ecr").create_repository(repositoryName="shared-name", tags=[{"Key": "project", "Value": cfg.project},
                                                                               {"Key": "environment", "Value": "staging"}])
    lines: list[str] = []
    with pytest.raises(DeployError) as caught:
        bootstrap(pipeline_run("se-other", lines), cfg, compiler.compile(cfg))
    assert caught.value.key == "registry.repository_name"
    assert "environment=staging" in str(caught.value) and f"environment={cfg.environment}" in str(caught.value)
    assert not {"se-other", "se-other-bootstrap"} & live_stacks()
    code, out, err = run_cli("deploy", "--stack", "se-other", "--config", path, "--yes")
    assert code == 1 and "error: registry.repository_name:" in err
    assert not {"se-other", "se-other-bootstrap"} & live_stacks()


def test_a_hosted_zone_that_does_not_exist_stops_bootstrap_and_deploy_before_any_stack(aws):
    path = aws("nozone", dns={"hosted_zone_id": "Z0000000000000NOZONE"})
    cfg = load(path)
    for step in (bootstrap, run):
        with pytest.raises(Problems) as caught:
            step(pipeline_run("se-nozone", []), cfg, compiler.compile(cfg))
        assert [p.key for p in caught.value.problems] == ["dns.hosted_zone_id"]
    cfn = boto3.client("cloudformation")
    assert not [s for s in cfn.describe_stacks()["Stacks"] if s["StackName"].startswith("se-nozone")]
