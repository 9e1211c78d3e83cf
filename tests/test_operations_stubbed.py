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
    made = {s: boto3.client(s, region_name=REGION) for s in ("cloudformation", "ecs")}
    stubs = {s: Stubber(c) for s, c in made.items()}
    for stub in stubs.values():
        stub.activate()
    yield made, stubs
    for stub in stubs.values():
        stub.assert_no_pending_responses()


def located(cfn: Stubber) -> None:
    """The responses `locate` reads: the root stack and its one nested stack."""
    cfn.add_response("describe_stacks", {"Stacks": [{
        "StackName": STACK, "StackId": ROOT_ID, "CreationTime": NOW, "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": "ClusterName", "OutputValue": "laravel-node"},
                    {"OutputKey": "ServiceName", "OutputValue": "student-enrollment-service"}]}]}, {"StackName": STACK})
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": [{
        "LogicalResourceId": "LoadBalancerStack", "PhysicalResourceId": LB_ID, "ResourceType": "AWS::CloudFormation::Stack",
        "LastUpdatedTimestamp": NOW, "ResourceStatus": "UPDATE_COMPLETE"}]}, {"StackName": ROOT_ID})


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


TASK = f"arn:aws:ecs:{REGION}:123456789012:task/laravel-node/0123456789abcdef0123456789abcdef"
TASKDEF = f"arn:aws:ecs:{REGION}:123456789012:task-definition/student-enrollment-laravel-api:7"


def exec_stubs(stubs, enabled: bool) -> None:
    located(stubs["cloudformation"])
    ecs = stubs["ecs"]
    ecs.add_response("list_tasks", {"taskArns": [TASK]},
                     {"cluster": "laravel-node", "serviceName": "student-enrollment-service", "desiredStatus": "RUNNING"})
    ecs.add_response("describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING", "taskDefinitionArn": TASKDEF,
                                                   "enableExecuteCommand": enabled}], "failures": []},
                     {"cluster": "laravel-node", "tasks": [TASK]})
    if enabled:
        ecs.add_response("describe_task_definition", {"taskDefinition": {"containerDefinitions": [
            {"name": "student-enrollment-laravel-api", "image": "x", "essential": True}]}}, {"taskDefinition": TASKDEF})


def test_exec_runs_aws_ecs_execute_command_on_the_first_running_task(clients, capsys, monkeypatch):
    made, stubs = clients
    exec_stubs(stubs, enabled=True)
    calls = []
    monkeypatch.setattr("shutil.which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr("enrollcfn.commands_ops.subprocess.call", lambda argv: calls.append(argv) or 0)
    assert main(["exec", "--stack", STACK, "--", "php", "artisan", "tinker"], client_factory=made.__getitem__) == 0
    assert calls == [["aws", "ecs", "execute-command", "--region", REGION, "--cluster", "laravel-node", "--task",
                      "0123456789abcdef0123456789abcdef", "--container", "student-enrollment-laravel-api", "--interactive",
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
