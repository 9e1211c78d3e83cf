"""The change-set state machine and its failure paths, against botocore's Stubber (request and
response shapes are checked against the real CloudFormation service model)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber

from enrollcfn import changesets as cs
from enrollcfn import progress
from enrollcfn.changes import render
from enrollcfn.changesets import DeployError, Target
from enrollcfn.pipeline import Clients, Console, Options, Run, apply
from tests.conftest import stubbed

NAME = "se-prod"
STACK_ID = f"arn:aws:cloudformation:ap-southeast-2:123456789012:stack/{NAME}/1b2c3d4e-0000-0000-0000-000000000001"
DB_STACK_ID = "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/se-prod-DatabaseStack-1ABC/2b2c3d4e-0000-0000-0000-000000000002"
CS_ID = "arn:aws:cloudformation:ap-southeast-2:123456789012:changeSet/enrollcfn-1/3c3d4e5f-0000-0000-0000-000000000003"
NESTED_CS_ID = "arn:aws:cloudformation:ap-southeast-2:123456789012:changeSet/enrollcfn-1-DatabaseStack/4d4e5f60-0000-0000-0000-000000000004"
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
OWNED = [{"Key": cs.OWNER_TAG, "Value": NAME}]


@pytest.fixture
def cfn():
    yield from stubbed("cloudformation")


def stack(status: str, stack_id: str = STACK_ID, name: str = NAME, **extra) -> dict:
    return {"Stacks": [{"StackId": stack_id, "StackName": name, "CreationTime": T0, "StackStatus": status, **extra}]}


def missing(cfn, name=NAME):
    cfn.stub.add_client_error("describe_stacks", "ValidationError", f"Stack with id {name} does not exist", 400,
                              expected_params={"StackName": name})


def change_set(status: str, reason: str = "", changes=(), stack_id=STACK_ID, cs_id=CS_ID, **extra) -> dict:
    body = {"ChangeSetId": cs_id, "ChangeSetName": cs_id.split("/")[1], "StackId": stack_id, "StackName": NAME,
            "Status": status, "ExecutionStatus": "AVAILABLE" if status == "CREATE_COMPLETE" else "UNAVAILABLE",
            "Changes": list(changes), **extra}
    return {**body, "StatusReason": reason} if reason else body


def resource(logical, kind, action, replacement=None, nested=None, details=()):
    rc = {"Action": action, "LogicalResourceId": logical, "ResourceType": kind, "Details": list(details)}
    if replacement:
        rc["Replacement"] = replacement
    if nested:
        rc["ChangeSetId"] = nested
    return {"Type": "Resource", "ResourceChange": rc}


def lines():
    out = []
    return out, Console(report=out.append, confirm=lambda q: True)


TARGET = Target(NAME, template_url="https://b.s3.ap-southeast-2.amazonaws.com/templates/root-0123456789abcdef.yaml",
                parameters={"ImageTag": "latest"})
TAGS = {cs.OWNER_TAG: NAME}


# --- the state machine -------------------------------------------------------------------------

@pytest.mark.parametrize("status,expected", [
    (None, "CREATE"), ("REVIEW_IN_PROGRESS", "CREATE"), ("CREATE_COMPLETE", "UPDATE"), ("UPDATE_COMPLETE", "UPDATE"),
    ("UPDATE_ROLLBACK_COMPLETE", "UPDATE"), ("IMPORT_ROLLBACK_COMPLETE", "UPDATE"),
])
def test_decide_creates_or_updates_from_settled_states(status, expected):
    current = None if status is None else stack(status)["Stacks"][0]
    assert cs.decide(current, NAME) == expected


def test_rollback_complete_needs_recreate_flag():
    with pytest.raises(DeployError, match="--recreate-failed"):
        cs.decide(stack("ROLLBACK_COMPLETE", Tags=OWNED)["Stacks"][0], NAME)


def test_rollback_complete_is_recreated_only_when_owned_and_unprotected():
    assert cs.decide(stack("ROLLBACK_COMPLETE", Tags=OWNED)["Stacks"][0], NAME, recreate_failed=True) == "RECREATE"
    with pytest.raises(DeployError, match="not created by enrollcfn"):
        cs.decide(stack("ROLLBACK_COMPLETE")["Stacks"][0], NAME, recreate_failed=True)
    with pytest.raises(DeployError, match="termination protection"):
        cs.decide(stack("CREATE_FAILED", Tags=OWNED, EnableTerminationProtection=True)["Stacks"][0], NAME, recreate_failed=True)


def test_update_rollback_failed_stops_with_the_recover_command():
    with pytest.raises(DeployError, match=f"enrollcfn recover --stack {NAME}"):
        cs.decide(stack("UPDATE_ROLLBACK_FAILED")["Stacks"][0], NAME)


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "DELETE_IN_PROGRESS"])
def test_busy_stack_is_never_given_a_second_operation(status):
    with pytest.raises(DeployError, match="another operation"):
        cs.decide(stack(status)["Stacks"][0], NAME)


def test_settle_waits_for_a_running_operation_then_returns(cfn):
    cfn.stub.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": NAME})
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": NAME})
    sleeps, said = [], []
    result = cs.settle(cfn, NAME, sleeps.append, lambda: 0.0, 600, said.append)
    assert result["StackStatus"] == "UPDATE_COMPLETE" and sleeps == [cs.EVENT_POLL]
    assert "waiting" in said[0]


def test_settle_gives_up_after_its_bound(cfn):
    cfn.stub.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": NAME})
    with pytest.raises(DeployError, match="still UPDATE_IN_PROGRESS"):
        cs.settle(cfn, NAME, lambda s: None, lambda: 1000.0, 0, lambda line: None)


def test_describe_survives_throttling(cfn):
    cfn.stub.add_client_error("describe_stacks", "Throttling", "Rate exceeded", 400)
    cfn.stub.add_client_error("describe_stacks", "Throttling", "Rate exceeded", 400)
    cfn.stub.add_response("describe_stacks", stack("CREATE_COMPLETE"), {"StackName": NAME})
    sleeps = []
    assert cs.describe(cfn, NAME, sleeps.append)["StackStatus"] == "CREATE_COMPLETE"
    assert sleeps == [2.0, 4.0]


def test_describe_of_an_absent_stack_is_none(cfn):
    missing(cfn)
    assert cs.describe(cfn, NAME) is None


# --- change sets -------------------------------------------------------------------------------

def expect_create(cfn, kind="UPDATE", stack_id=STACK_ID):
    cfn.stub.add_response("create_change_set", {"Id": CS_ID, "StackId": stack_id}, {
        "StackName": NAME, "ChangeSetName": ANY, "ChangeSetType": kind, "ClientToken": ANY, "IncludeNestedStacks": True,
        "Capabilities": ["CAPABILITY_IAM"], "Parameters": [{"ParameterKey": "ImageTag", "ParameterValue": "latest"}],
        "Tags": [{"Key": cs.OWNER_TAG, "Value": NAME}], "Description": ANY, "TemplateURL": TARGET.template_url,
    })


def describe_cs(cfn, response, cs_id=CS_ID):
    cfn.stub.add_response("describe_change_set", response, {"ChangeSetName": cs_id, "IncludePropertyValues": True})


def run_apply(cfn, current, opts=None, console=None, template_check=None):
    console = console or lines()[1]
    run = Run(Clients(cfn), opts or Options(stack=NAME, yes=True), console, sleep=lambda s: None, clock=lambda: 0.0)
    return apply(run, TARGET, {"new": 1}, TAGS, template_check=template_check)


def existing(cfn, status="UPDATE_COMPLETE", template="old: 1"):
    cfn.stub.add_response("describe_stacks", stack(status, Tags=OWNED), {"StackName": NAME})
    if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        cfn.stub.add_response("get_template", {"TemplateBody": template}, {"StackName": STACK_ID, "TemplateStage": "Original"})


@pytest.mark.parametrize("reason", [
    "The submitted information didn't contain changes. Submit different information to create a change set.",
    "No updates are to be performed.",
])
def test_empty_change_set_in_either_wording_is_deleted_and_reported_as_no_changes(cfn, reason):
    existing(cfn)
    expect_create(cfn)
    describe_cs(cfn, change_set("FAILED", reason))
    cfn.stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
    said, console = lines()
    assert run_apply(cfn, None, console=console) is False
    assert said == [f"{NAME}: no changes"]


def test_unchanged_template_parameters_and_tags_skip_the_change_set(cfn):
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", Tags=OWNED,
                          Parameters=[{"ParameterKey": "ImageTag", "ParameterValue": "latest"}]), {"StackName": NAME})
    cfn.stub.add_response("get_template", {"TemplateBody": "new: 1\n"}, {"StackName": STACK_ID, "TemplateStage": "Original"})
    said, console = lines()
    assert run_apply(cfn, None, console=console) is False  # no create_change_set was stubbed
    assert said == [f"{NAME}: no changes"]


def test_failed_change_set_walks_nested_change_sets_for_the_reason(cfn):
    existing(cfn)
    expect_create(cfn)
    root = change_set("FAILED", f"Nested change set {NESTED_CS_ID} was not successfully created: Currently in FAILED.",
                      [resource("DatabaseStack", "AWS::CloudFormation::Stack", "Modify", "False", NESTED_CS_ID)])
    describe_cs(cfn, root)
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": STACK_ID})
    describe_cs(cfn, change_set("FAILED", "Template error: instance of Fn::GetAtt references undefined resource Dbb",
                                stack_id=DB_STACK_ID, cs_id=NESTED_CS_ID), cs_id=NESTED_CS_ID)
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", DB_STACK_ID, "se-prod-DatabaseStack-1ABC"),
                          {"StackName": DB_STACK_ID})
    with pytest.raises(DeployError) as err:
        run_apply(cfn, None)
    assert "se-prod/DatabaseStack: Template error: instance of Fn::GetAtt references undefined resource Dbb" in err.value.message
    assert "kept for inspection" in err.value.message


def replacing_plan(cfn):
    existing(cfn)
    expect_create(cfn)
    describe_cs(cfn, change_set("CREATE_COMPLETE", changes=[
        resource("DatabaseStack", "AWS::CloudFormation::Stack", "Modify", "False", NESTED_CS_ID)],
        Parameters=[{"ParameterKey": "ImageTag", "ParameterValue": "v2"}]))
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", Parameters=[{"ParameterKey": "ImageTag", "ParameterValue": "v1"}]),
                          {"StackName": STACK_ID})
    describe_cs(cfn, change_set("CREATE_COMPLETE", stack_id=DB_STACK_ID, cs_id=NESTED_CS_ID, changes=[
        resource("Database", "AWS::RDS::DBInstance", "Modify", "True", details=[
            {"Target": {"Attribute": "Properties", "Name": "DBName", "RequiresRecreation": "Always"}}]),
        resource("DatabaseSecurityGroupIngress", "AWS::EC2::SecurityGroupIngress", "Modify", "False", details=[
            {"Target": {"Attribute": "Properties", "Name": "FromPort", "RequiresRecreation": "Never"}}]),
    ]), cs_id=NESTED_CS_ID)
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", DB_STACK_ID, "se-prod-DatabaseStack-1ABC"),
                          {"StackName": DB_STACK_ID})


def test_replacing_the_database_is_refused_and_nothing_runs(cfn):
    replacing_plan(cfn)
    cfn.stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
    said, console = lines()
    with pytest.raises(DeployError, match=r"refusing to lose data: se-prod/DatabaseStack/Database \(AWS::RDS::DBInstance\) "
                       r"replaced \(by DBName\*\)"):
        run_apply(cfn, None, console=console)
    preview = "\n".join(said)
    assert "parameter ImageTag: 'v1' -> 'v2'" in preview
    assert "-/+ Database  AWS::RDS::DBInstance  Modify  (REPLACED; DBName*; DATA LOSS: the database)" in preview
    assert "DatabaseSecurityGroupIngress  AWS::EC2::SecurityGroupIngress  Modify  (FromPort; ACCESS CHANGE)" in preview


def test_plan_only_previews_and_deletes_the_change_set(cfn):
    replacing_plan(cfn)
    cfn.stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
    said, console = lines()
    assert run_apply(cfn, None, opts=Options(stack=NAME, execute=False), console=console) is True
    assert any("DATA LOSS" in line for line in said)


def test_allowed_data_loss_opens_the_stack_policies_then_executes(cfn):
    replacing_plan(cfn)
    cfn.stub.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": "DatabaseStack", "PhysicalResourceId": DB_STACK_ID, "ResourceType": "AWS::CloudFormation::Stack",
         "LastUpdatedTimestamp": T0, "ResourceStatus": "UPDATE_COMPLETE"}]}, {"StackName": STACK_ID})
    cfn.stub.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": DB_STACK_ID})
    for stack_id in (STACK_ID, DB_STACK_ID):
        cfn.stub.add_response("set_stack_policy", {}, {"StackName": stack_id, "StackPolicyBody": json.dumps(cs.OPEN_POLICY, sort_keys=True)})
    cfn.stub.add_response("execute_change_set", {}, {"ChangeSetName": CS_ID, "ClientRequestToken": ANY})
    cfn.stub.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": NAME})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    for stack_id in (STACK_ID, DB_STACK_ID):  # and closes them again afterwards
        cfn.stub.add_response("set_stack_policy", {}, {"StackName": stack_id, "StackPolicyBody": json.dumps(cs.STACK_POLICY, sort_keys=True)})
    assert run_apply(cfn, None, opts=Options(stack=NAME, yes=True, allow_data_loss=True)) is True


def test_unconfirmed_deploy_changes_nothing(cfn):
    existing(cfn)
    expect_create(cfn)
    describe_cs(cfn, change_set("CREATE_COMPLETE", changes=[resource("Alarm", "AWS::CloudWatch::Alarm", "Add")]))
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": STACK_ID})
    cfn.stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
    with pytest.raises(DeployError, match="not confirmed"):
        run_apply(cfn, None, opts=Options(stack=NAME), console=Console(report=lambda line: None, confirm=lambda q: False))


def test_create_change_set_on_a_review_in_progress_stack_and_discard_removes_the_placeholder(cfn):
    cfn.stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"), {"StackName": NAME})
    expect_create(cfn, kind="CREATE")
    describe_cs(cfn, change_set("CREATE_COMPLETE", changes=[resource("Vpc", "AWS::EC2::VPC", "Add")]))
    cfn.stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"), {"StackName": STACK_ID})
    cfn.stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
    cfn.stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"), {"StackName": NAME})
    cfn.stub.add_response("delete_stack", {}, {"StackName": STACK_ID})
    assert run_apply(cfn, None, opts=Options(stack=NAME, execute=False)) is True


# --- following an operation ---------------------------------------------------------------------

def event(n, stack_id, logical, kind, status, reason="", physical="", at=None):
    e = {"StackId": stack_id, "EventId": f"e{n}", "StackName": stack_id.split("/")[1], "LogicalResourceId": logical,
         "ResourceType": kind, "Timestamp": at or T0 + timedelta(seconds=n), "ResourceStatus": status}
    if reason:
        e["ResourceStatusReason"] = reason
    if physical:
        e["PhysicalResourceId"] = physical
    return e


def test_watch_streams_root_and_nested_events_and_reports_the_failure(cfn):
    said = []
    watcher = progress.Watch(cfn, STACK_ID, T0, said.append, sleep=lambda s: None)
    old = event(0, STACK_ID, NAME, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", at=T0 - timedelta(days=1))
    cfn.stub.add_response("describe_stack_events", {"StackEvents": [
        event(2, STACK_ID, "DatabaseStack", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", physical=DB_STACK_ID),
        event(1, STACK_ID, NAME, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated", physical=STACK_ID),
        old]}, {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": [
        event(3, DB_STACK_ID, "Database", "AWS::RDS::DBInstance", "UPDATE_FAILED",
              "Resource handler returned message: \"Cannot upgrade mysql from 8.4.7 to 8.0.40\"")]},
        {"StackName": DB_STACK_ID})
    cfn.stub.add_response("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE"), {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": DB_STACK_ID})
    with pytest.raises(DeployError, match=r"ended UPDATE_ROLLBACK_COMPLETE: DatabaseStack/Database: Resource handler"):
        progress.watch(cfn, watcher, NAME, lambda: 0.0, 100.0, cancel_on_timeout=True)
    assert [line.split()[1:3] for line in said] == [[NAME, NAME], [NAME, "DatabaseStack"], ["DatabaseStack", "Database"]]
    assert "Cannot upgrade mysql" in said[-1]


def test_a_long_quiet_wait_says_the_elapsed_time_and_what_is_still_in_progress(cfn):
    """RDS takes 5-15 minutes to create an instance with no event in between: a line every minute."""
    said, now = [], iter([0.0, 0.0, 61.0, 100.0, 125.0, 130.0])  # start, then once per poll
    watcher = progress.Watch(cfn, STACK_ID, T0, said.append, sleep=lambda s: None)
    cfn.stub.add_response("describe_stack_events", {"StackEvents": [
        event(1, STACK_ID, "Database", "AWS::RDS::DBInstance", "CREATE_IN_PROGRESS", at=T0 + timedelta(seconds=1))]}, {"StackName": STACK_ID})
    for status in ("CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS"):
        cfn.stub.add_response("describe_stacks", stack(status), {"StackName": STACK_ID})
        cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stacks", stack("CREATE_COMPLETE"), {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    progress.watch(cfn, watcher, NAME, lambda: next(now), 10_000.0, cancel_on_timeout=True)
    beats = [line.strip() for line in said if "elapsed" in line]
    assert beats == ["... 1m01s elapsed; waiting on se-prod/Database (CREATE_IN_PROGRESS since 09:00:01)",
                     "... 2m05s elapsed; waiting on se-prod/Database (CREATE_IN_PROGRESS since 09:00:01)"]


def test_watch_timeout_cancels_an_update(cfn):
    watcher = progress.Watch(cfn, STACK_ID, T0, lambda line: None, sleep=lambda s: None)
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": STACK_ID})
    cfn.stub.add_response("cancel_update_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY})
    with pytest.raises(DeployError, match="update was cancelled"):
        progress.watch(cfn, watcher, NAME, lambda: 5000.0, 100.0, cancel_on_timeout=True)


def test_watch_survives_throttled_event_reads(cfn):
    watcher = progress.Watch(cfn, STACK_ID, T0, lambda line: None, sleep=lambda s: None)
    cfn.stub.add_client_error("describe_stack_events", "Throttling", "Rate exceeded", 400)
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    assert progress.watch(cfn, watcher, NAME, lambda: 0.0, 100.0, cancel_on_timeout=True)["StackStatus"] == "UPDATE_COMPLETE"


def test_service_probe_reports_rollout_and_stopped_task_reasons_once():
    ecs = boto3.client("ecs", region_name="ap-southeast-2", aws_access_key_id="x", aws_secret_access_key="x")
    task = "arn:aws:ecs:ap-southeast-2:123456789012:task/student-enrollment-production/0123456789abcdef"
    deployment = {"id": "ecs-svc/1234567890123456789", "status": "PRIMARY", "rolloutState": "IN_PROGRESS",
                  "runningCount": 1, "desiredCount": 2}
    with Stubber(ecs) as stub:
        for _ in range(2):
            stub.add_response("describe_services", {"services": [{"deployments": [deployment]}]},
                              {"cluster": "student-enrollment-production", "services": ["student-enrollment-production"]})
            stub.add_response("list_tasks", {"taskArns": [task]}, {"cluster": "student-enrollment-production",
                              "serviceName": "student-enrollment-production", "desiredStatus": "STOPPED"})
            if _ == 0:
                stub.add_response("describe_tasks", {"tasks": [{"taskArn": task, "stoppedAt": T0 + timedelta(minutes=1),
                                  "stoppedReason": "Essential container in task exited"}]},
                                  {"cluster": "student-enrollment-production", "tasks": [task]})
            stub.add_response("list_service_deployments", {"serviceDeployments": []},
                              {"cluster": "student-enrollment-production", "service": "student-enrollment-production", "createdAt": {"after": T0}})
        probe = progress.service_probe(ecs, "student-enrollment-production", "student-enrollment-production", T0)
        assert probe() == ["deployment 23456789: PRIMARY IN_PROGRESS running 1/2", "task stopped: Essential container in task exited"]
        assert probe() == []


def test_a_canary_release_whose_alarm_fires_is_reported_with_the_alarm_and_the_rollback():
    """ECS's service deployments (botocore's ECS model: ListServiceDeployments,
    DescribeServiceDeployments): the stage as traffic moves, then the alarm by name and the rollback."""
    ecs = boto3.client("ecs", region_name="ap-southeast-2", aws_access_key_id="x", aws_secret_access_key="x")
    arn = "arn:aws:ecs:ap-southeast-2:123456789012:service-deployment/student-enrollment-production/student-enrollment-production/AbCdEfGh12345678"
    listed = {"cluster": "student-enrollment-production", "service": "student-enrollment-production", "createdAt": {"after": T0}}
    shifting = {"serviceDeploymentArn": arn, "status": "IN_PROGRESS", "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
                "alarms": {"status": "MONITORING", "alarmNames": ["se-ReleaseErrorsAlarm-1"], "triggeredAlarmNames": []}}
    rolled = {"serviceDeploymentArn": arn, "status": "ROLLBACK_IN_PROGRESS", "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
              "statusReason": "Service deployment rolled back because of alarm triggered",
              "alarms": {"status": "TRIGGERED", "alarmNames": ["se-ReleaseErrorsAlarm-1"], "triggeredAlarmNames": ["se-ReleaseErrorsAlarm-1"]},
              "rollback": {"reason": "Alarm se-ReleaseErrorsAlarm-1 is in ALARM state", "startedAt": T0 + timedelta(minutes=3)}}
    with Stubber(ecs) as stub:
        for found in (shifting, rolled):
            stub.add_response("list_service_deployments", {"serviceDeployments": [{"serviceDeploymentArn": arn, "status": found["status"]}]}, listed)
            stub.add_response("describe_service_deployments", {"serviceDeployments": [found]}, {"serviceDeploymentArns": [arn]})
        probe = progress.release_probe(ecs, "student-enrollment-production", "student-enrollment-production", T0)
        assert probe() == ["release 12345678: IN_PROGRESS PRODUCTION_TRAFFIC_SHIFT"]
        assert probe() == ["release 12345678: ROLLBACK_IN_PROGRESS PRODUCTION_TRAFFIC_SHIFT",
                           "release 12345678: alarm se-ReleaseErrorsAlarm-1 fired; ECS rolls the release back",
                           "release 12345678: rolled back: Alarm se-ReleaseErrorsAlarm-1 is in ALARM state"]


def test_a_migration_that_exits_1_stops_the_release_with_its_log_tail(cfn):
    """The Migration custom resource fails with the task's exit code and log tail; the stack rolls
    back (the service keeps its image) and the deploy names the failure, tail included."""
    said = []
    watcher = progress.Watch(cfn, STACK_ID, T0, said.append, sleep=lambda s: None)
    service_stack = STACK_ID.replace(NAME, f"{NAME}-ServiceStack-1")
    reason = ("student-enrollment-production exited 1 (Essential container in task exited); last lines:\n"
              "SQLSTATE[42S01]: Base table or view already exists: 1050 Table 'students' already exists")
    cfn.stub.add_response("describe_stack_events", {"StackEvents": [
        event(2, STACK_ID, "ServiceStack", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", physical=service_stack),
        event(1, STACK_ID, NAME, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated", physical=STACK_ID)]}, {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": [
        event(3, service_stack, "Migration", "Custom::OneOffTask", "UPDATE_FAILED", reason)]}, {"StackName": service_stack})
    cfn.stub.add_response("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE"), {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": service_stack})
    with pytest.raises(DeployError) as failed:
        progress.watch(cfn, watcher, NAME, lambda: 0.0, 100.0, cancel_on_timeout=True)
    assert "ended UPDATE_ROLLBACK_COMPLETE: ServiceStack/Migration: student-enrollment-production exited 1" in str(failed.value)
    assert "Table 'students' already exists" in str(failed.value)


# --- after and around a deploy ------------------------------------------------------------------

def test_protect_sets_policies_on_every_stack_and_termination_protection(cfn):
    cfn.stub.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": "DatabaseStack", "PhysicalResourceId": DB_STACK_ID, "ResourceType": "AWS::CloudFormation::Stack",
         "LastUpdatedTimestamp": T0, "ResourceStatus": "CREATE_COMPLETE"}]}, {"StackName": STACK_ID})
    cfn.stub.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": DB_STACK_ID})
    body = json.dumps(cs.STACK_POLICY, sort_keys=True)
    cfn.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": body})
    cfn.stub.add_response("set_stack_policy", {}, {"StackName": DB_STACK_ID, "StackPolicyBody": body})
    cfn.stub.add_response("update_termination_protection", {"StackId": STACK_ID},
                          {"StackName": STACK_ID, "EnableTerminationProtection": True})
    assert cs.protect(cfn, STACK_ID) == [STACK_ID, DB_STACK_ID]
    denied = [s for s in cs.STACK_POLICY["Statement"] if s["Effect"] == "Deny"][0]
    assert set(denied["Action"]) == {"Update:Replace", "Update:Delete"} and "LogicalResourceId/Database" in denied["Resource"]


def test_destroy_refuses_a_protected_stack_and_one_it_did_not_create(cfn):
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", Tags=OWNED, EnableTerminationProtection=True), {"StackName": NAME})
    with pytest.raises(DeployError, match="termination protection"):
        cs.delete(cfn, NAME, allow_protected=False)
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": NAME})
    with pytest.raises(DeployError, match="not created by enrollcfn"):
        cs.delete(cfn, NAME, allow_protected=True)


def test_destroy_turns_protection_off_only_when_told(cfn):
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", Tags=OWNED, EnableTerminationProtection=True), {"StackName": NAME})
    cfn.stub.add_response("update_termination_protection", {"StackId": STACK_ID}, {"StackName": NAME, "EnableTerminationProtection": False})
    cfn.stub.add_response("delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY})
    cs.delete(cfn, NAME, allow_protected=True)


def test_recover_continues_the_rollback_skipping_named_resources(cfn):
    cfn.stub.add_response("describe_stacks", stack("UPDATE_ROLLBACK_FAILED"), {"StackName": NAME})
    cfn.stub.add_response("continue_update_rollback", {}, {"StackName": NAME, "ResourcesToSkip": ["ServiceStack.Service"],
                                                           "ClientRequestToken": ANY})
    cs.recover(cfn, NAME, ["ServiceStack.Service"])
    cfn.stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": NAME})
    with pytest.raises(DeployError, match="only to UPDATE_ROLLBACK_FAILED"):
        cs.recover(cfn, NAME, [])


def test_capabilities_are_minimal():
    # CloudFormation's rule (CreateChangeSet, Capabilities): IAM resources need CAPABILITY_IAM,
    # and CAPABILITY_NAMED_IAM when any of them has a custom name.
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
    assert cs.capabilities([{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}]) == ()
    assert cs.capabilities([{"Resources": {"R": role}}]) == ("CAPABILITY_IAM",)
    named = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}
    assert cs.capabilities([{"Resources": {"R": role}}, {"Resources": {"N": named}}]) == ("CAPABILITY_NAMED_IAM",)


def test_render_marks_replacement_access_and_nesting():
    from enrollcfn.changes import ResourceChange, StackPlan

    plan = StackPlan("se", changes=[ResourceChange("DatabaseStack", "AWS::CloudFormation::Stack", "Modify", "False")])
    plan.children["DatabaseStack"] = StackPlan("se/DatabaseStack", changes=[ResourceChange("Database", "AWS::RDS::DBInstance", "Remove")])
    text = render(plan, "se: update")
    assert text.splitlines() == [
        "se: update",
        "    ~ DatabaseStack  AWS::CloudFormation::Stack  Modify",
        "          - Database  AWS::RDS::DBInstance  Remove  (DATA LOSS: the database)",
    ]


def test_aws_failures_reach_the_user_as_one_line(monkeypatch, capsys):
    from enrollcfn.cli import main

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["plan", "--stack", NAME]) == 1
    err = capsys.readouterr().err
    assert err == "error: aws: Unable to locate credentials\n"


def test_a_failing_rollout_probe_is_reported_once_and_never_stops_the_watch(cfn):
    from botocore.exceptions import ClientError

    def probe():
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "DescribeServices")

    said = []
    watcher = progress.Watch(cfn, STACK_ID, T0, said.append, sleep=lambda s: None, probe=probe)
    cfn.stub.add_response("describe_stack_events", {"StackEvents": [
        event(1, STACK_ID, "ServiceStack", "AWS::ECS::Service", "UPDATE_IN_PROGRESS")]}, {"StackName": STACK_ID})
    watcher.poll()
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    watcher.poll()
    assert sum("rollout not shown" in line for line in said) == 1


def test_template_diff_findings_join_the_tree_where_the_change_set_said_less():
    from enrollcfn.changes import ResourceChange, StackPlan, template_losses

    old = {"Resources": {"Database": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBName": "collage", "AllocatedStorage": 20}},
                         "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}}}}
    new = {"Resources": {"Database": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBName": "renamed", "AllocatedStorage": 30}}}}
    found = template_losses("se/DatabaseStack", old, new, lambda kind: ["DBName"] if kind == "AWS::RDS::DBInstance" else [])
    assert [(p, c.logical_id, c.action, c.properties) for p, c in found] == [
        ("se/DatabaseStack", "Database", "Modify", ("DBName*",)), ("se/DatabaseStack", "Logs", "Remove", ())]
    plan = StackPlan("se", changes=[ResourceChange("DatabaseStack", "AWS::CloudFormation::Stack", "Modify", "False")])
    plan.flag(found)
    assert [c.logical_id for _, c in plan.data_loss()] == ["Database", "Logs"]
    assert "found by the template diff" in render(plan, "se: update")


def test_recreate_failed_deletes_the_failed_stack_then_creates_it(cfn):
    cfn.stub.add_response("describe_stacks", stack("ROLLBACK_COMPLETE", Tags=OWNED), {"StackName": NAME})
    cfn.stub.add_response("describe_stacks", stack("ROLLBACK_COMPLETE", Tags=OWNED), {"StackName": NAME})  # delete()
    cfn.stub.add_response("delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY})
    missing(cfn)  # gone at once
    expect_create(cfn, kind="CREATE")
    describe_cs(cfn, change_set("CREATE_COMPLETE", changes=[resource("Vpc", "AWS::EC2::VPC", "Add")]))
    cfn.stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"), {"StackName": STACK_ID})
    cfn.stub.add_response("execute_change_set", {}, {"ChangeSetName": CS_ID, "ClientRequestToken": ANY})
    cfn.stub.add_response("describe_stacks", stack("CREATE_IN_PROGRESS"), {"StackName": NAME})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stacks", stack("CREATE_COMPLETE"), {"StackName": STACK_ID})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    said, console = lines()
    assert run_apply(cfn, None, opts=Options(stack=NAME, yes=True, recreate_failed=True), console=console) is True
    assert said[0] == f"{NAME}: ROLLBACK_COMPLETE, deleting it before creating it again (--recreate-failed)"
