"""`enrollcfn stackset`: the bootstrap stack in many accounts and regions.

Input checks are held to botocore's CloudFormation model (account and OU patterns) and the
config's regions; the calls to StackSets to the API shapes under botocore's Stubber (exact
parameters, NextToken pages, an operation followed from RUNNING to its end, a failed instance);
create, status and destroy run end to end on the local AWS, whose StackSets create real stacks
in the target accounts (self-managed) but finish every operation at once and ignore
OperationPreferences, CallAs and AutoDeployment.
"""

from __future__ import annotations

import contextlib
import io

import boto3
import pytest
from botocore.stub import ANY

from enrollcfn.cli import main
from enrollcfn.config import Config
from enrollcfn.errors import ConfigErrors, Problems
from enrollcfn.stacksets import StackSets, Targets, parse
from tests.conftest import stubbed

OU = "ou-ab12-cdef3456"
NAME = "student-enrollment-production-bootstrap"


@pytest.fixture
def cfn():
    yield from stubbed("cloudformation")


def _no_aws(service):
    raise AssertionError(f"no AWS client may be made for bad input, asked for {service}")


def _run(argv: list[str], factory=_no_aws) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv, client_factory=factory)
    return code, out.getvalue(), err.getvalue()


# --- bad input: one line each, naming the flag, and no AWS client -----------------------------

@pytest.mark.parametrize("argv, flag, says", [
    (["--ous", OU, "--accounts", "12345678901", "--regions", "ap-southeast-2"], "--accounts", "12 digits"),
    (["--ous", OU, "--accounts", "1234567890123", "--regions", "ap-southeast-2"], "--accounts", "12 digits"),
    (["--ous", "ou-AB12-cdef3456", "--regions", "ap-southeast-2"], "--ous", "organizational unit"),
    (["--ous", "ou-ab1-cdef3456", "--regions", "ap-southeast-2"], "--ous", "organizational unit"),
    (["--ous", OU, "--regions", "ap-southeast-2", "mars-east-1"], "--regions", "'mars-east-1' is not a region"),
    (["--ous", OU, "--regions", "us-east-1"], "--regions", "must include the config's region ap-southeast-2"),
    (["--accounts", "123456789012", "--regions", "ap-southeast-2"], "--ous", "SERVICE_MANAGED"),
    # CreateStackInstances API reference: "The maximum number of organizational unit (OUs) supported ... is 50."
    (["--ous", *[f"ou-ab12-{n:08d}" for n in range(51)], "--regions", "ap-southeast-2"], "--ous", "at most 50"),
])
def test_bad_targets_are_one_line_naming_the_flag_before_any_aws_call(argv, flag, says):
    code, out, err = _run(["stackset", "deploy", "--yes", *argv])
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {flag}: ") and says in err, err


def test_self_managed_refuses_ous():
    cfg = Config(stackset={"permission_model": "SELF_MANAGED"})
    with pytest.raises(Problems) as caught:
        parse(cfg, [], [OU], ["ap-southeast-2"])
    assert [p.key for p in caught.value.problems] == ["--ous", "--accounts"]


@pytest.mark.parametrize("section, key", [
    ({"max_concurrent": 3, "failure_tolerance": 1}, "stackset.max_concurrent"),  # StackSets: at most tolerance + 1 (strict mode)
    ({"max_concurrent": 0}, "stackset.max_concurrent"),
    ({"execution_role_name": "has space"}, "stackset.execution_role_name"),
    ({"administration_role_arn": "arn:aws:iam::123:role/x", "permission_model": "SELF_MANAGED"}, "stackset.administration_role_arn"),
    ({"call_as": "DELEGATED_ADMIN", "permission_model": "SELF_MANAGED"}, "stackset.call_as"),
])
def test_bad_stackset_config_names_the_key(section, key):
    with pytest.raises(ConfigErrors) as caught:
        Config(stackset=section)
    assert [p.key for p in caught.value.problems] == [key]


def test_regions_go_in_order_with_the_config_region_first():
    targets = parse(Config(), [], [OU], ["us-east-1", "ap-southeast-2", "us-east-1"])
    assert targets == Targets((), (OU,), ("ap-southeast-2", "us-east-1"))


# --- the API calls, under the Stubber ---------------------------------------------------------

def _instance(account, region, detailed, status="CURRENT", reason=None):
    i = {"StackSetId": f"{NAME}:1", "Account": account, "Region": region, "Status": status, "OrganizationalUnitId": OU,
         "StackInstanceStatus": {"DetailedStatus": detailed}}
    return i | ({"StatusReason": reason} if reason else {})


def _expect_follow(cfn, operation, instances_pages, final="SUCCEEDED", results=()):
    op = {"StackSetName": NAME, "OperationId": operation, "CallAs": "SELF"}
    cfn.stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"OperationId": operation, "Status": "RUNNING"}}, op)
    cfn.stub.add_response("list_stack_instances", {"Summaries": instances_pages[0][0], "NextToken": "page2"}, {"StackSetName": NAME, "CallAs": "SELF"})
    cfn.stub.add_response("list_stack_instances", {"Summaries": instances_pages[0][1]}, {"StackSetName": NAME, "CallAs": "SELF", "NextToken": "page2"})
    cfn.stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"OperationId": operation, "Status": final}}, op)
    cfn.stub.add_response("list_stack_instances", {"Summaries": instances_pages[1]}, {"StackSetName": NAME, "CallAs": "SELF"})
    cfn.stub.add_response("list_stack_set_operation_results", {"Summaries": list(results)}, op)


def test_first_deploy_creates_a_service_managed_stack_set_and_follows_each_instance(cfn, compiled):
    cfg, lines, sleeps = Config(), [], []
    cfn.stub.add_client_error("describe_stack_set", "StackSetNotFoundException", "StackSet not found", 404,
                              expected_params={"StackSetName": NAME, "CallAs": "SELF"})
    cfn.stub.add_response("create_stack_set", {"StackSetId": f"{NAME}:1"}, {
        "StackSetName": NAME, "TemplateBody": compiled.stacks["bootstrap"].text, "Capabilities": ["CAPABILITY_NAMED_IAM"],
        "Tags": [{"Key": "project", "Value": "student-enrollment"}, {"Key": "environment", "Value": "production"}],
        "PermissionModel": "SERVICE_MANAGED", "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": True},
        "CallAs": "SELF", "Description": ANY})
    cfn.stub.add_response("create_stack_instances", {"OperationId": "op-1"}, {
        "StackSetName": NAME, "DeploymentTargets": {"OrganizationalUnitIds": [OU], "Accounts": ["111111111111"], "AccountFilterType": "INTERSECTION"},
        "Regions": ["ap-southeast-2", "us-east-1"], "CallAs": "SELF",
        "OperationPreferences": {"RegionConcurrencyType": "SEQUENTIAL", "RegionOrder": ["ap-southeast-2", "us-east-1"],
                                 "MaxConcurrentCount": 1, "FailureToleranceCount": 0}})
    _expect_follow(cfn, "op-1", [([_instance("111111111111", "ap-southeast-2", "RUNNING")], [_instance("111111111111", "us-east-1", "PENDING")]),
                                 [_instance("111111111111", "ap-southeast-2", "SUCCEEDED"), _instance("111111111111", "us-east-1", "SUCCEEDED")]])
    sets = StackSets(cfn, cfg, compiled, lines.append, sleep=sleeps.append)
    plan = sets.deploy(parse(cfg, ["111111111111"], [OU], ["us-east-1", "ap-southeast-2"]), allow_data_loss=False)
    assert not plan.exists and plan.add == {OU: ("ap-southeast-2", "us-east-1")}
    assert sleeps == [10.0]  # one wait between the RUNNING read and the end
    shown = "\n".join(lines)
    for line in ("111111111111 ap-southeast-2  RUNNING", "111111111111 us-east-1       PENDING", "111111111111 ap-southeast-2  SUCCEEDED"):
        assert line in shown, shown


def test_a_failed_instance_is_reported_with_account_region_and_reason(cfn, compiled):
    cfg = Config()
    sets = StackSets(cfn, cfg, compiled, lambda _: None, sleep=lambda _: None)
    reason = "ResourceLogicalId:Repository, ResourceType:AWS::ECR::Repository, ResourceStatusReason:Resource already exists."
    _expect_follow(cfn, "op-2", [([], [_instance("222222222222", "ap-southeast-2", "RUNNING")]),
                                 [_instance("222222222222", "ap-southeast-2", "FAILED", "OUTDATED", reason)]],
                   final="FAILED", results=[{"Account": "222222222222", "Region": "ap-southeast-2", "Status": "FAILED", "StatusReason": reason}])
    with pytest.raises(Problems) as caught:
        sets.follow("op-2", "add")
    [problem] = caught.value.problems
    assert problem.key == "222222222222 ap-southeast-2" and "already exists" in problem.message


def test_a_template_change_that_replaces_the_repository_is_refused_before_any_write(cfn, compiled):
    cfg = Config()
    deployed = compiled.stacks["bootstrap"].text.replace("RepositoryName: student-enrollment-production", "RepositoryName: an-older-name")
    assert deployed != compiled.stacks["bootstrap"].text
    cfn.stub.add_response("describe_stack_set", {"StackSet": {"StackSetName": NAME, "TemplateBody": deployed, "Capabilities": ["CAPABILITY_NAMED_IAM"]}},
                          {"StackSetName": NAME, "CallAs": "SELF"})
    cfn.stub.add_response("list_stack_instances", {"Summaries": [_instance("111111111111", "ap-southeast-2", "SUCCEEDED")]},
                          {"StackSetName": NAME, "CallAs": "SELF"})
    sets = StackSets(cfn, cfg, compiled, lambda _: None)
    with pytest.raises(Problems) as caught:  # the Stubber refuses any update call: none is queued
        sets.deploy(parse(cfg, [], [OU], ["ap-southeast-2"]), allow_data_loss=False)
    [problem] = caught.value.problems
    assert problem.key == f"{NAME}/Repository" and "replaced" in problem.message and "--allow-data-loss" in problem.message


def test_a_changed_template_updates_every_instance_with_the_config_region_first(cfn, compiled):
    cfg = Config()
    body = compiled.stacks["bootstrap"].text
    deployed = body.replace("NoncurrentDays: 90", "NoncurrentDays: 30")  # no data lost: a lifecycle rule
    assert deployed != body
    instances = [_instance("111111111111", "us-east-1", "SUCCEEDED"), _instance("111111111111", "ap-southeast-2", "SUCCEEDED")]
    cfn.stub.add_response("describe_stack_set", {"StackSet": {"StackSetName": NAME, "TemplateBody": deployed}}, {"StackSetName": NAME, "CallAs": "SELF"})
    cfn.stub.add_response("list_stack_instances", {"Summaries": instances}, {"StackSetName": NAME, "CallAs": "SELF"})
    cfn.stub.add_response("update_stack_set", {"OperationId": "op-4"}, {
        "StackSetName": NAME, "TemplateBody": body, "Capabilities": ["CAPABILITY_NAMED_IAM"], "Tags": ANY, "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": ANY, "CallAs": "SELF",
        "OperationPreferences": {"RegionConcurrencyType": "SEQUENTIAL", "RegionOrder": ["ap-southeast-2", "us-east-1"],
                                 "MaxConcurrentCount": 1, "FailureToleranceCount": 0}})
    _expect_follow(cfn, "op-4", [([], instances), instances])
    plan = StackSets(cfn, cfg, compiled, lambda _: None, sleep=lambda _: None).deploy(parse(cfg, [], [OU], ["ap-southeast-2"]), False)
    assert plan.template_changed and plan.losses == [] and plan.add == {}  # both instances exist: none is added


def test_destroy_of_a_service_managed_stack_set_names_its_ous(cfn, compiled):
    cfg = Config()
    instances = [_instance("111111111111", "ap-southeast-2", "SUCCEEDED"), _instance("111111111111", "us-east-1", "SUCCEEDED")]
    cfn.stub.add_response("list_stack_instances", {"Summaries": instances}, {"StackSetName": NAME, "CallAs": "SELF"})
    cfn.stub.add_response("delete_stack_instances", {"OperationId": "op-3"}, {
        "StackSetName": NAME, "DeploymentTargets": {"OrganizationalUnitIds": [OU]}, "Regions": ["ap-southeast-2", "us-east-1"],
        "RetainStacks": False, "CallAs": "SELF", "OperationPreferences": ANY})
    _expect_follow(cfn, "op-3", [([], []), []])
    cfn.stub.add_response("delete_stack_set", {}, {"StackSetName": NAME, "CallAs": "SELF"})
    assert StackSets(cfn, cfg, compiled, lambda _: None, sleep=lambda _: None).destroy((), retain_stacks=False) == instances


def test_destroy_is_refused_while_deleting_an_instance_would_delete_data(compiled):
    from types import SimpleNamespace

    from enrollcfn.stacksets import losing_on_delete

    assert losing_on_delete(compiled) == []  # the bucket and the repository are Retain in the compiled template
    doc = {"Resources": {"Repository": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Delete"},
                         "Boundary": {"Type": "AWS::IAM::ManagedPolicy"}}}
    assert losing_on_delete(SimpleNamespace(stacks={"bootstrap": SimpleNamespace(doc=doc)})) == ["Repository (the image repository)"]


# --- end to end on the local AWS (self-managed: moto creates the stacks in each account) -------

def test_deploy_status_and_destroy_on_the_local_aws(tmp_path):
    from enrollcfn.local import server as localaws

    config = tmp_path / "c.yaml"
    config.write_text("stackset:\n  permission_model: SELF_MANAGED\n")
    targets = ["--config", str(config), "--accounts", "111111111111", "222222222222", "--regions", "ap-southeast-2", "us-west-2"]
    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        code, out, err = _run(["stackset", "deploy", "--yes", *targets], factory=None)
        assert code == 0, out + err
        code, out, _ = _run(["stackset", "plan", *targets], factory=None)
        assert code == 0 and "unchanged" in out and "+ instances" not in out, out
        code, out, _ = _run(["stackset", "status", "--config", str(config)], factory=None)
        assert code == 0 and out.count("CURRENT") == 4, out
        assert _repositories() == {(a, r): ["student-enrollment-production"] for a in ("111111111111", "222222222222")
                                   for r in ("ap-southeast-2", "us-west-2")}
        for account in ("111111111111", "222222222222"):  # IAM is global: one boundary per account, from two regions
            names = [p["PolicyName"] for p in _as(account, "iam", "us-west-2").list_policies(Scope="Local")["Policies"]]
            assert names == ["student-enrollment-production-boundary"], names
        code, out, err = _run(["stackset", "destroy", "--yes", "--config", str(config)], factory=None)
        assert code == 0 and "4 instance(s) deleted" in out and "Repository (AWS::ECR::Repository)" in out, out + err
        assert [s["Status"] for s in boto3.client("cloudformation").list_stack_sets()["Summaries"]] == ["DELETED"]
        assert _repositories() == {(a, r): ["student-enrollment-production"] for a in ("111111111111", "222222222222")
                                   for r in ("ap-southeast-2", "us-west-2")}  # DeletionPolicy Retain: the images stay


def _as(account: str, service: str, region: str):
    """A client acting as `account` (the local AWS maps assumed-role keys to the role's account)."""
    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/reader", RoleSessionName="check")["Credentials"]
    return boto3.client(service, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def _repositories() -> dict:
    """The ECR repositories of each target account and region, read as that account."""
    return {(a, r): [x["repositoryName"] for x in _as(a, "ecr", r).describe_repositories()["repositories"]]
            for a in ("111111111111", "222222222222") for r in ("ap-southeast-2", "us-west-2")}
