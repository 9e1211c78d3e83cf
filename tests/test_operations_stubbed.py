"""Day-2 commands the local AWS cannot serve, against botocore's Stubber: drift detection (moto has
no DetectStackDrift) and ECS Exec. Response shapes follow the AWS API reference
(CloudFormation DetectStackDrift, DescribeStackDriftDetectionStatus, DescribeStackResourceDrifts;
ECS ListTasks, DescribeTasks, DescribeTaskDefinition)."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import Stubber

from enrollcfn.cli import main
from enrollcfn.operations import drift as drift_module

STACK = "se-prod"
REGION = "ap-southeast-2"
ROOT_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK}/11111111-1111-1111-1111-111111111111"
LB_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK}-LoadBalancerStack-ABC/22222222-2222-2222-2222-222222222222"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def clients(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(drift_module, "POLL", 0)
    made = {s: boto3.client(s, region_name=REGION) for s in ("cloudformation", "ecs", "elbv2", "cloudwatch", "rds")}
    stubs = {s: Stubber(c) for s, c in made.items()}
    for stub in stubs.values():
        stub.activate()
    yield made, stubs
    for stub in stubs.values():
        stub.assert_no_pending_responses()


MON_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK}-MonitoringStack-DEF/33333333-3333-3333-3333-333333333333"


def located(cfn: Stubber, monitoring: bool = False) -> None:
    """The responses `locate` reads: the root stack and its nested stack(s)."""
    cfn.add_response("describe_stacks", {"Stacks": [{
        "StackName": STACK, "StackId": ROOT_ID, "CreationTime": NOW, "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": "ClusterName", "OutputValue": "student-enrollment-production"},
                    {"OutputKey": "ServiceName", "OutputValue": "student-enrollment-production"}]}]}, {"StackName": STACK})
    nested = [("LoadBalancerStack", LB_ID)] + ([("MonitoringStack", MON_ID)] if monitoring else [])
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": [{
        "LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": "AWS::CloudFormation::Stack",
        "LastUpdatedTimestamp": NOW, "ResourceStatus": "UPDATE_COMPLETE"} for logical, physical in nested]}, {"StackName": ROOT_ID})


def status(detection: str, drift: str, state: str = "DETECTION_COMPLETE") -> dict:
    return {"StackId": ROOT_ID, "StackDriftDetectionId": detection, "DetectionStatus": state,
            "StackDriftStatus": drift, "Timestamp": NOW, "DriftedStackResourceCount": 1 if drift == "DRIFTED" else 0}


def test_drift_reports_each_property_expected_and_actual_and_exits_2(clients, capsys):
    made, stubs = clients
    cfn = stubs["cloudformation"]
    located(cfn)
    cfn.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-root"}, {"StackName": ROOT_ID})
    cfn.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-lb"}, {"StackName": LB_ID})
    cfn.add_response("describe_stack_drift_detection_status", status("d-root", "IN_SYNC"), {"StackDriftDetectionId": "d-root"})
    cfn.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": []},
                     {"StackName": ROOT_ID, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]})
    cfn.add_response("describe_stack_drift_detection_status", status("d-lb", "", "DETECTION_IN_PROGRESS"), {"StackDriftDetectionId": "d-lb"})
    cfn.add_response("describe_stack_drift_detection_status", status("d-lb", "DRIFTED"), {"StackDriftDetectionId": "d-lb"})
    cfn.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": [{
        "StackId": LB_ID, "LogicalResourceId": "LoadBalancer", "PhysicalResourceId": "arn:aws:elasticloadbalancing:lb",
        "ResourceType": "AWS::ElasticLoadBalancingV2::LoadBalancer", "StackResourceDriftStatus": "MODIFIED", "Timestamp": NOW,
        "PropertyDifferences": [{"PropertyPath": "/LoadBalancerAttributes/2/Value", "ExpectedValue": "60",
                                 "ActualValue": "120", "DifferenceType": "NOT_EQUAL"}]}]},
        {"StackName": LB_ID, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]})
    code = main(["drift", "--stack", STACK], client_factory=made.__getitem__)
    out = capsys.readouterr().out
    assert code == 2
    assert "LoadBalancerStack" in out and "DRIFTED" in out
    assert "~ LoadBalancer.LoadBalancerAttributes.2.Value: 60 -> 120 (NOT_EQUAL)" in out


def test_drift_in_sync_exits_0_as_json(clients, capsys):
    made, stubs = clients
    cfn = stubs["cloudformation"]
    located(cfn)
    for stack_id, detection in ((ROOT_ID, "d-root"), (LB_ID, "d-lb")):
        cfn.add_response("detect_stack_drift", {"StackDriftDetectionId": detection}, {"StackName": stack_id})
    for stack_id, detection in ((ROOT_ID, "d-root"), (LB_ID, "d-lb")):
        cfn.add_response("describe_stack_drift_detection_status", status(detection, "IN_SYNC"), {"StackDriftDetectionId": detection})
        cfn.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": []}, None)
    assert main(["drift", "--stack", STACK, "--json"], client_factory=made.__getitem__) == 0
    assert [r["status"] for r in json.loads(capsys.readouterr().out)] == ["IN_SYNC", "IN_SYNC"]


TASK = f"arn:aws:ecs:{REGION}:123456789012:task/student-enrollment-production/0123456789abcdef0123456789abcdef"
TASKDEF = f"arn:aws:ecs:{REGION}:123456789012:task-definition/student-enrollment-production:7"


def exec_stubs(stubs, enabled: bool) -> None:
    located(stubs["cloudformation"])
    ecs = stubs["ecs"]
    ecs.add_response("list_tasks", {"taskArns": [TASK]},
                     {"cluster": "student-enrollment-production", "serviceName": "student-enrollment-production", "desiredStatus": "RUNNING"})
    ecs.add_response("describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING", "taskDefinitionArn": TASKDEF,
                                                   "enableExecuteCommand": enabled}], "failures": []},
                     {"cluster": "student-enrollment-production", "tasks": [TASK]})
    if enabled:
        ecs.add_response("describe_task_definition", {"taskDefinition": {"containerDefinitions": [
            {"name": "student-enrollment-production", "image": "x", "essential": True}]}}, {"taskDefinition": TASKDEF})


def test_exec_runs_aws_ecs_execute_command_on_the_first_running_task(clients, capsys, monkeypatch):
    made, stubs = clients
    exec_stubs(stubs, enabled=True)
    calls = []
    monkeypatch.setattr("shutil.which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr("enrollcfn.commands.day2.subprocess.call", lambda argv: calls.append(argv) or 0)
    assert main(["exec", "--stack", STACK, "--", "php", "artisan", "tinker"], client_factory=made.__getitem__) == 0
    assert calls == [["aws", "ecs", "execute-command", "--region", REGION, "--cluster", "student-enrollment-production", "--task",
                      "0123456789abcdef0123456789abcdef", "--container", "student-enrollment-production", "--interactive",
                      "--command", "php artisan tinker"]]


def test_exec_on_a_task_started_without_exec_names_the_config_key(clients, capsys, monkeypatch):
    made, stubs = clients
    exec_stubs(stubs, enabled=False)
    monkeypatch.setattr("shutil.which", lambda tool: f"/usr/bin/{tool}")
    assert main(["exec", "--stack", STACK], client_factory=made.__getitem__) == 1
    assert capsys.readouterr().err.startswith("error: service.exec_enabled: task 0123456789abcdef0123456789abcdef was started without ECS Exec")


def test_exec_without_the_session_plugin_says_what_to_install_in_one_line(capsys, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda tool: "/usr/bin/aws" if tool == "aws" else None)
    assert main(["exec", "--stack", STACK]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: exec: session-manager-plugin not found on PATH: install")


def test_status_lists_every_problem_and_exits_3(clients, capsys):
    """Half the tasks running, a rollout in progress, an unhealthy target, an alarm firing."""
    made, stubs = clients
    cfn, ecs = stubs["cloudformation"], stubs["ecs"]
    located(cfn, monitoring=True)
    ecs.add_response("describe_services", {"services": [{
        "serviceName": "student-enrollment-production", "status": "ACTIVE", "taskDefinition": TASKDEF,
        "runningCount": 1, "desiredCount": 2, "pendingCount": 1,
        "deployments": [{"id": "ecs-svc/123", "status": "PRIMARY", "rolloutState": "IN_PROGRESS", "taskDefinition": TASKDEF,
                         "runningCount": 1, "desiredCount": 2}]}], "failures": []})
    ecs.add_response("list_tasks", {"taskArns": [TASK]}, None)
    ecs.add_response("describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING", "healthStatus": "HEALTHY",
                                                   "taskDefinitionArn": TASKDEF, "containers": [{"name": "app", "imageDigest": "sha256:" + "a" * 64}]}]}, None)
    ecs.add_response("list_tasks", {"taskArns": []}, None)
    cfn.add_response("describe_stacks", {"Stacks": [{"StackName": "lb", "StackId": LB_ID, "CreationTime": NOW, "StackStatus": "UPDATE_COMPLETE",
                                                      "Outputs": [{"OutputKey": "TargetGroupArn", "OutputValue": "arn:aws:elasticloadbalancing:tg"}]}]})
    stubs["elbv2"].add_response("describe_target_health", {"TargetHealthDescriptions": [
        {"Target": {"Id": "10.0.1.5", "Port": 80}, "TargetHealth": {"State": "unhealthy", "Description": "Health checks failed"}}]},
        {"TargetGroupArn": "arn:aws:elasticloadbalancing:tg"})
    alarm = f"{STACK}-MonitoringStack-DEF-UnhealthyHostsAlarm-XYZ"
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": "UnhealthyHostsAlarm", "PhysicalResourceId": alarm, "ResourceType": "AWS::CloudWatch::Alarm",
         "LastUpdatedTimestamp": NOW, "ResourceStatus": "UPDATE_COMPLETE"}]}, {"StackName": MON_ID})
    stubs["cloudwatch"].add_response("describe_alarms", {"MetricAlarms": [{"AlarmName": alarm, "StateValue": "ALARM",
                                                                          "StateReason": "Threshold crossed"}]},
                                     {"AlarmNames": [alarm], "StateValue": "ALARM"})
    # no DatabaseStack in this root: the database is not read
    code = main(["status", "--stack", STACK], client_factory=made.__getitem__)
    out = capsys.readouterr().out
    assert code == 3
    assert "task 0123456789abcdef0123456789abcdef: RUNNING HEALTHY image sha256:" + "a" * 64 in out
    problems = [line for line in out.splitlines() if line.startswith("problem: ")]
    assert problems == ["problem: service runs 1 of 2 tasks", "problem: deployment 123 is IN_PROGRESS",
                        "problem: target 10.0.1.5 is unhealthy", f"problem: alarm {alarm} is in ALARM"]
