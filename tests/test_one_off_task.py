"""The release's one-off tasks (the database user, the migrations): the custom resource's function
under botocore's Stubber with the ECS and CloudWatch Logs response shapes of their API references,
and how the service stack orders them before the service."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import load_function, resource_schema, resources_of, stubbed

CLUSTER = "student-enrollment-production"
TASK = f"arn:aws:ecs:ap-southeast-2:123456789012:task/{CLUSTER}/0123456789abcdef0123456789abcdef"
TASKDEF = "arn:aws:ecs:ap-southeast-2:123456789012:task-definition/student-enrollment-production:7"
PROPS = {
    "Cluster": CLUSTER, "TaskDefinition": TASKDEF, "ContainerName": "student-enrollment-production",
    "Command": ["php", "artisan", "migrate", "--force"], "Subnets": ["subnet-0a1b2c3d"], "SecurityGroups": ["sg-0a1b2c3d"],
    "AssignPublicIp": "DISABLED", "LogGroup": "/ecs/student-enrollment-production", "StreamPrefix": "ecs",
}


one_off = load_function("one_off_task")


@pytest.fixture
def ecs(monkeypatch):
    monkeypatch.setattr(one_off.time, "sleep", lambda seconds: None)  # the stubbed task stops at once
    yield from stubbed("ecs")


@pytest.fixture
def logs():
    yield from stubbed("logs")


def _event(kind="Create"):
    return {"RequestType": kind, "ResourceProperties": PROPS, "StackId": "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/s/1",
            "RequestId": "r", "LogicalResourceId": "Migration", "ResponseURL": "https://example.invalid/"}


def _run_task(ecs):
    ecs.stub.add_response("run_task", {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []}, {
        "cluster": CLUSTER, "taskDefinition": TASKDEF, "launchType": "FARGATE", "platformVersion": "LATEST", "count": 1,
        "startedBy": "cloudformation", "propagateTags": "TASK_DEFINITION",
        "overrides": {"containerOverrides": [{"name": PROPS["ContainerName"], "command": PROPS["Command"]}]},
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": PROPS["Subnets"], "securityGroups": PROPS["SecurityGroups"], "assignPublicIp": "DISABLED"}},
    })


def _stopped(ecs, exit_code, reason="Essential container in task exited"):
    ecs.stub.add_response("describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING", "containers": []}]},
                          {"cluster": CLUSTER, "tasks": [TASK]})
    container = {"name": PROPS["ContainerName"], "lastStatus": "STOPPED", "exitCode": exit_code}
    ecs.stub.add_response("describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "STOPPED", "stoppedReason": reason, "containers": [container]}]},
                          {"cluster": CLUSTER, "tasks": [TASK]})


def test_a_migration_that_exits_0_answers_success(ecs, logs):
    _run_task(ecs)
    _stopped(ecs, 0)
    status, reason, data = one_off.run(_event(), 60, ecs, logs)
    assert (status, data["TaskArn"]) == ("SUCCESS", TASK)


def test_a_migration_that_exits_1_fails_the_release_with_its_exit_code_and_log_tail(ecs, logs, monkeypatch):
    monkeypatch.setattr(one_off.time, "sleep", lambda s: None)
    _run_task(ecs)
    _stopped(ecs, 1)
    stream = f"ecs/{PROPS['ContainerName']}/{TASK.rsplit('/', 1)[1]}"
    logs.stub.add_response("get_log_events", {"events": [{"timestamp": 1, "message": "SQLSTATE[42S01]: Base table or view already exists"}]},
                           {"logGroupName": PROPS["LogGroup"], "logStreamName": stream, "limit": 15, "startFromHead": False})
    status, reason, _ = one_off.run(_event(), 60, ecs, logs)
    assert status == "FAILED"
    assert "exited 1" in reason and "Essential container in task exited" in reason and "SQLSTATE[42S01]" in reason


def test_a_task_that_never_started_names_ecs_failures(ecs, logs):
    ecs.stub.add_response("run_task", {"tasks": [], "failures": [{"arn": TASKDEF, "reason": "MISSING"}]})
    with pytest.raises(RuntimeError, match="MISSING"):
        one_off.run(_event(), 60, ecs, logs)


def test_delete_runs_nothing(ecs, logs):
    assert one_off.run(_event("Delete"), 60, ecs, logs)[0] == "SUCCESS"


def test_the_answer_fits_cloudformations_response_limit(monkeypatch):
    """A custom resource's response body may hold at most 4096 bytes (CloudFormation User Guide,
    "Custom resources", response objects): a long log tail is cut, the end kept."""
    sent = {}

    class Answer:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(one_off.urllib.request, "urlopen", lambda request, timeout: sent.setdefault("body", request.data) and Answer())
    one_off.reply(_event(), "FAILED", "x" * 10_000 + " the end", "id")
    assert len(sent["body"]) <= 4096 and json.loads(sent["body"])["Reason"].endswith("the end")


def test_the_database_user_then_the_migrations_run_before_the_service(rendered):
    service = rendered["service"]
    runs = resources_of(service, "Custom::OneOffTask")
    assert set(runs) == {"DatabaseUser", "Migration"}
    assert runs["Migration"]["DependsOn"] == ["DatabaseUser"]
    assert service["Resources"]["Service"]["DependsOn"] == ["Migration"]
    assert runs["Migration"]["Properties"]["TaskDefinition"] == {"Ref": "TaskDefinition"}
    assert runs["Migration"]["Properties"]["Command"] == ["php", "artisan", "migrate", "--force"]
    # only the database-user task reads the master secret; the application's tasks never do
    execution = service["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert {"Ref": "DatabaseSecretArn"} not in execution["Statement"][-1]["Resource"]
    user = service["Resources"]["DatabaseUserExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert {"Ref": "DatabaseSecretArn"} in user["Statement"][-1]["Resource"]


def test_the_function_and_its_resources_fit_lambdas_and_cloudformations_limits(rendered):
    """Lambda: "the maximum allowed value is 900 seconds" (cfn-lint's bundled schema of
    AWS::Lambda::Function Timeout); CloudFormation: a custom resource's ServiceTimeout is 1-3600
    seconds and must outlast the function so its answer arrives."""
    schema = resource_schema("AWS::Lambda::Function")
    lambda_max = int(re.search(r"maximum allowed value is ([\d,]+) seconds", schema["properties"]["Timeout"]["description"]).group(1).replace(",", ""))
    service = rendered["service"]
    timeout = service["Resources"]["OneOffTaskFunction"]["Properties"]["Timeout"]
    assert timeout <= lambda_max == 900
    for run in resources_of(service, "Custom::OneOffTask").values():
        assert timeout < run["Properties"]["ServiceTimeout"] <= 3600
