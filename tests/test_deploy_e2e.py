"""End to end against a local AWS (a patched moto server on 127.0.0.1, over real HTTP): the
command line creates the stacks, re-deploys without changes, previews an update, and refuses a
change that would replace the database."""

from __future__ import annotations

import contextlib
import io
import json

import boto3
import pytest
from cfn_flip import load_yaml

from enrollcfn.cli import main
from enrollcfn.config import Config
from enrollcfn.local import server as localaws

STACK = "se-e2e"


@pytest.fixture(scope="module")
def aws():
    """A local AWS with the hosted zone and the pushed image a real account would have."""
    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        cfg = Config()
        zone = boto3.client("route53").create_hosted_zone(Name=cfg.dns.zone_name, CallerReference="e2e")["HostedZone"]["Id"]
        yield {"endpoint": endpoint, "zone": zone.rsplit("/", 1)[-1], "cfg": cfg}


@pytest.fixture(scope="module")
def config_file(aws, tmp_path_factory):
    """Write a config (dns.hosted_zone_id of the local zone plus `extra` YAML); returns its path."""
    def write(extra: str = "") -> str:
        path = tmp_path_factory.mktemp("cfg") / "config.yaml"
        path.write_text(f"dns:\n  hosted_zone_id: {aws['zone']}\n{extra}")
        return str(path)

    return write


def pending_change_sets() -> list[str]:
    """Change sets still waiting to be executed (moto keeps executed ones and lists every stack's)."""
    summaries = boto3.client("cloudformation").list_change_sets(StackName=STACK)["Summaries"]
    return [s["ChangeSetName"] for s in summaries if s["StackName"] == STACK and s["ExecutionStatus"] == "AVAILABLE"]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def created(aws, config_file):
    """The first deploys: without an image (stops at the preflight), then after pushing one."""
    cfg = aws["cfg"]
    first_err, first_out, second_out, config = io.StringIO(), io.StringIO(), io.StringIO(), config_file()
    with contextlib.redirect_stderr(first_err), contextlib.redirect_stdout(first_out):
        first = main(["deploy", "--stack", STACK, "--config", config, "--yes"])
        root_after_first = boto3.client("cloudformation").list_stacks()["StackSummaries"]
        localaws.push_image(boto3.client("ecr"), cfg.registry.repository_name, cfg.service.image_tag, "first")
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(second_out):
        second = main(["deploy", "--stack", STACK, "--config", config_file(), "--yes"])
    return {"first": first, "first_err": first_err.getvalue(), "first_out": first_out.getvalue(), "config": config, "second": second, "second_out": second_out.getvalue(),
            "stacks_after_first": {s["StackName"] for s in root_after_first}}


def test_deploy_without_the_image_stops_after_bootstrap_with_push_commands(created):
    assert created["first"] == 1
    err = created["first_err"].splitlines()
    assert err[-1] == ("error: service.image_tag: image student-enrollment-production:latest is not in ECR, so the service would never start; "
                       "the bootstrap is in place: push the image (the commands above), then deploy again")
    assert f"  enrollcfn deploy --stack {STACK} --config {created['config']} --image-tag release-1" in created["first_out"].splitlines()
    assert created["stacks_after_first"] == {f"{STACK}-bootstrap"}


def test_a_production_deploy_whose_alarms_notify_no_one_goes_ahead_with_a_warning(created):
    # The default config is production and names no alarm subscriber.
    assert created["second"] == 0
    assert "warning: monitoring.alarm_email: " in created["second_out"]


def test_stacks_carry_the_environment_tag_the_budget_counts(created, aws):
    tags = {t["Key"]: t["Value"] for t in boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["Tags"]}
    assert tags["environment"] == aws["cfg"].environment


def test_create_deploys_root_and_nested_stacks_and_protects_them(created):
    assert created["second"] == 0
    cfn = boto3.client("cloudformation")
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    # created without deletion protection, then updated to turn it on once the create was stable
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    out = created["second_out"]
    assert out.index("first create with deletion protection off") < out.index("CREATE_COMPLETE") < out.index("turning deletion protection on")
    # what CloudFormation now holds for the database (moto does not apply a DB instance's updates)
    [database] = [s["StackId"] for s in cfn.describe_stacks()["Stacks"] if s["StackName"].startswith(f"{STACK}-DatabaseStack-")]
    held = load_yaml(cfn.get_template(StackName=database)["TemplateBody"])
    assert held["Resources"]["Database"]["Properties"]["DeletionProtection"] is True
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["ApiUrl"] == "https://server.martincaringal.co.nz"
    assert outputs["ClusterName"] == "student-enrollment-production"
    nested = [r for r in cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
              if r["ResourceType"] == "AWS::CloudFormation::Stack"]
    assert {r["LogicalResourceId"] for r in nested} >= {"NetworkStack", "DatabaseStack", "ServiceStack"}
    policy = json.loads(cfn.get_stack_policy(StackName=STACK)["StackPolicyBody"])
    assert "LogicalResourceId/DatabaseStack" in json.dumps(policy)
    assert boto3.client("ecs").describe_services(cluster="student-enrollment-production", services=["student-enrollment-production"])["services"]


def test_redeploy_without_changes_uploads_nothing_and_exits_0(created, config_file, capsys):
    code, out, err = run(capsys, "deploy", "--stack", STACK, "--config", config_file(), "--yes", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["changed"] == [] and summary["uploaded"] == []
    assert f"{STACK}: no changes" in err


def _artifact_keys() -> set[str]:
    s3 = boto3.client("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if "artifactbucket" in b["Name"])
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_plan_after_a_setting_changes_shows_it_and_exits_2(created, config_file, capsys):
    before = _artifact_keys()
    code, out, err = run(capsys, "plan", "--stack", STACK, "--config",
                         config_file("cluster:\n  container_insights: false\n"), "--json")
    assert code == 2
    # a plan uploads only where no deploy reads (README, who writes what in the artifact bucket)
    new = _artifact_keys() - before
    assert new and all(k.startswith("plans/") for k in new), new
    plans = {p["title"]: p for p in json.loads(out)["plans"]}
    changes = plans[f"{STACK}: update"]["changes"]
    assert {"logical_id": "ClusterStack", "action": "Modify"}.items() <= next(
        c for c in changes if c["logical_id"] == "ClusterStack").items()
    assert pending_change_sets() == []  # plan deletes what it created


def test_change_that_replaces_the_database_is_refused(created, config_file, capsys):
    cfn = boto3.client("cloudformation")
    code, out, err = run(capsys, "deploy", "--stack", STACK, "--config", config_file("database:\n  name: renamed\n"), "--yes")
    assert code == 1
    assert "refusing to lose data" in err and "DatabaseStack/Database" in err and "DBName" in err
    assert cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"  # as the protecting update left it
    assert pending_change_sets() == []
    [db] = boto3.client("rds").describe_db_instances()["DBInstances"]
    assert db["DBName"] == "collage"


# With deletion protection on in the config, destroy refuses before it reads a stack (test_teardown).
UNPROTECTED = "database:\n  deletion_protection: false\nload_balancer:\n  deletion_protection: false\n"


def test_destroy_refuses_while_termination_protection_is_on(created, config_file, capsys):
    code, out, err = run(capsys, "destroy", "--stack", STACK, "--config", config_file(UNPROTECTED), "--yes")
    assert code == 1 and "termination protection" in err
    assert boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


def test_destroy_refuses_a_stack_it_did_not_create(created, config_file, capsys):
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="someone-elses", TemplateBody='{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}')
    code, out, err = run(capsys, "destroy", "--stack", "someone-elses", "--config", config_file(UNPROTECTED), "--yes")
    assert code == 1 and "not created by enrollcfn" in err
    assert cfn.describe_stacks(StackName="someone-elses")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
