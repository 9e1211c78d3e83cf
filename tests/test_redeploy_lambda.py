"""The redeploy Lambda: its event filter and revision builder as pure functions, and its handler
called directly with boto3 pointed at a moto server over real HTTP (an ECS cluster and a service
on a digest-pinned task definition created there first)."""

from __future__ import annotations

import importlib.util
import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from enrollcfn.compiler import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "lambda" / "redeploy" / "index.py"
ENV = {
    "CLUSTER_NAME": "student-enrollment-production",
    "SERVICE_NAME": "student-enrollment-production",
    "REPOSITORY_NAME": "student-enrollment-production",
    "REPOSITORY_URI": "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/student-enrollment-production",
    "CONTAINER_NAME": "student-enrollment-production",
    "TAG_PREFIX": "release-",
    "SECRET_ARN": "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:rds!db-3f1e2d4c-5b6a-4789-8c9d-0e1f2a3b4c5d-Ab12Cd",
}
OLD = "sha256:" + "0" * 64
NEW = "sha256:" + "a" * 64


def _load():
    spec = importlib.util.spec_from_file_location("redeploy_index", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


redeploy = _load()


def push(**detail) -> dict:
    """An "ECR Image Action" event as EventBridge delivers it, with `detail` overrides."""
    base = {
        "action-type": "PUSH",
        "result": "SUCCESS",
        "repository-name": ENV["REPOSITORY_NAME"],
        "image-tag": "release-42",
        "image-digest": NEW,
    }
    return {"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": {**base, **detail}}


# ---- the filter -----------------------------------------------------------------------------


def test_filter_accepts_a_successful_push_of_a_prefix_tag():
    assert redeploy.skip_reason(push(), ENV["REPOSITORY_NAME"], "release-") is None


@pytest.mark.parametrize(
    "detail, key",
    [
        ({"image-tag": "latest"}, "image-tag"),
        ({"image-tag": None}, "image-tag"),
        ({"image-digest": None}, "image-digest"),
        ({"repository-name": "other"}, "repository-name"),
        ({"result": "FAILURE"}, "result"),
        ({"action-type": "DELETE"}, "action-type"),
    ],
)
def test_filter_names_the_field_that_does_not_match(detail, key):
    reason = redeploy.skip_reason(push(**detail), ENV["REPOSITORY_NAME"], "release-")
    assert reason and reason.startswith(key)


def test_filter_rejects_an_event_without_detail():
    assert redeploy.skip_reason({}, ENV["REPOSITORY_NAME"], "release-").startswith("action-type")


def test_new_revision_changes_only_the_named_containers_image():
    current = {
        "taskDefinitionArn": "arn:td:1", "revision": 1, "status": "ACTIVE", "family": "f", "cpu": "1024",
        "executionRoleArn": "arn:exec", "taskRoleArn": "arn:task", "volumes": [{"name": "tmp"}], "registeredBy": "x",
        "containerDefinitions": [{"name": "app", "image": "repo@old", "user": "www-data"}, {"name": "side", "image": "s:1"}],
    }  # fmt: skip
    args = redeploy.with_image(current, "app", "repo@new")
    assert args["containerDefinitions"] == [{"name": "app", "image": "repo@new", "user": "www-data"}, {"name": "side", "image": "s:1"}]
    assert (args["family"], args["executionRoleArn"], args["taskRoleArn"], args["volumes"]) == ("f", "arn:exec", "arn:task", [{"name": "tmp"}])
    # Read-only fields of DescribeTaskDefinition are not RegisterTaskDefinition parameters.
    assert not {"taskDefinitionArn", "revision", "status", "registeredBy"} & args.keys()


# ---- the handler against moto -----------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def ecs(moto_url, monkeypatch):
    """A fresh moto with the seed's cluster and service; the handler's boto3 talks to it."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).close()
    for key, value in {**ENV, "AWS_ENDPOINT_URL": moto_url, "AWS_DEFAULT_REGION": "ap-southeast-2",
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("ecs")
    client.create_cluster(clusterName=ENV["CLUSTER_NAME"])
    client.register_task_definition(
        family="app", executionRoleArn="arn:aws:iam::123456789012:role/exec",
        containerDefinitions=[{"name": ENV["CONTAINER_NAME"], "image": f"{ENV['REPOSITORY_URI']}@{OLD}", "memory": 512, "user": "www-data",
                               "readonlyRootFilesystem": True}],
    )  # fmt: skip
    client.create_service(cluster=ENV["CLUSTER_NAME"], serviceName=ENV["SERVICE_NAME"], taskDefinition="app", desiredCount=1)
    return client


def running(ecs) -> dict:
    """The task definition the service points at."""
    (service,) = ecs.describe_services(cluster=ENV["CLUSTER_NAME"], services=[ENV["SERVICE_NAME"]])["services"]
    return ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_matching_push_points_the_service_at_a_revision_running_the_pushed_digest(ecs, capsys):
    before = running(ecs)
    result = redeploy.handler(push(), None)
    assert result["redeployed"] is True
    after = running(ecs)
    assert after["taskDefinitionArn"] == result["task_definition"] and after["revision"] == before["revision"] + 1
    (container,) = after["containerDefinitions"]
    assert container["image"] == f"{ENV['REPOSITORY_URI']}@{NEW}"
    assert container["user"] == "www-data" and container["readonlyRootFilesystem"] is True  # the rest is copied
    (line,) = log_lines(capsys)
    assert line["decision"] == "redeployed" and line["service"] == ENV["SERVICE_NAME"]
    assert line["image-digest"] == NEW and line["previous"] == before["taskDefinitionArn"]


def test_a_retried_push_of_the_running_digest_changes_nothing(ecs, capsys):
    redeploy.handler(push(), None)
    first = running(ecs)["taskDefinitionArn"]
    capsys.readouterr()
    result = redeploy.handler(push(), None)
    assert result["redeployed"] is False and running(ecs)["taskDefinitionArn"] == first
    (line,) = log_lines(capsys)
    assert line["decision"] == "unchanged"


@pytest.mark.parametrize(
    "detail",
    [{"image-tag": "latest"}, {"repository-name": "someone-else"}, {"result": "FAILURE"}],
    ids=["tag without the prefix", "other repository", "failed push"],
)
def test_other_events_are_ignored_with_a_log_line(ecs, capsys, detail):
    before = running(ecs)["taskDefinitionArn"]
    result = redeploy.handler(push(**detail), None)
    assert result["redeployed"] is False
    assert running(ecs)["taskDefinitionArn"] == before
    (line,) = log_lines(capsys)
    assert line["decision"] == "ignored" and line["reason"] == result["reason"]


def test_ecs_error_is_logged_and_raised_so_eventbridge_retries(ecs, capsys, monkeypatch):
    monkeypatch.setenv("CLUSTER_NAME", "no-such-cluster")
    with pytest.raises(ClientError, match="ClusterNotFound"):
        redeploy.handler(push(), None)
    (line,) = log_lines(capsys)
    assert line["decision"] == "failed" and line["cluster"] == "no-such-cluster"


def rotation(secret: str, label: str = "AWSCURRENT") -> dict:
    """A rotation as EventBridge delivers it: Secrets Manager's `Secret Label Updated` event, in the
    shape of the example in the Secrets Manager user guide ("Secret Label Updated event"): the
    secret's ARN in `resources`, its name, the label moved and the new version in `detail`."""
    return {
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "Secret Label Updated",
        "source": "aws.secretsmanager", "account": "123456789012", "time": "2026-12-03T17:00:00Z", "region": "ap-southeast-2",
        "resources": [secret],
        "detail": {"name": secret.split(":")[-1][:-7], "labelUpdated": label, "versionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"},
    }  # fmt: skip


def cloudtrail_rotation(secret: str) -> dict:
    """The CloudTrail service event the function used to act on ("AWS Service Event via CloudTrail")."""
    return {
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467719", "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.secretsmanager", "account": "123456789012", "time": "2026-12-03T17:00:00Z", "region": "ap-southeast-2",
        "resources": [],
        "detail": {"eventSource": "secretsmanager.amazonaws.com", "eventName": "RotationSucceeded", "additionalEventData": {"SecretId": secret}},
    }  # fmt: skip


@pytest.fixture
def update_calls(ecs):
    """The parameters of every UpdateService call the handler makes."""
    calls = []
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("provide-client-params.ecs.UpdateService", lambda params, **_: calls.append(dict(params)))
    yield calls
    boto3.DEFAULT_SESSION = None


def test_a_rotation_of_the_database_secret_starts_new_tasks_on_the_same_revision(ecs, update_calls, capsys):
    before = running(ecs)["taskDefinitionArn"]
    result = redeploy.handler(rotation(ENV["SECRET_ARN"]), None)
    assert result == {"redeployed": True, "reason": "secret rotated"}
    assert update_calls == [{"cluster": ENV["CLUSTER_NAME"], "service": ENV["SERVICE_NAME"], "forceNewDeployment": True}]
    assert running(ecs)["taskDefinitionArn"] == before
    (line,) = log_lines(capsys)
    assert line["decision"] == "restarted" and line["secret"] == ENV["SECRET_ARN"]


@pytest.mark.parametrize("event", [
    rotation(ENV["SECRET_ARN"].replace("Ab12Cd", "Zz99Yy")),
    rotation(ENV["SECRET_ARN"], "MyLabel"),
    cloudtrail_rotation(ENV["SECRET_ARN"]),
], ids=["another secret", "another label", "cloudtrail service event"])
def test_other_secrets_manager_events_change_nothing(ecs, update_calls, capsys, event):
    assert redeploy.handler(event, None)["redeployed"] is False
    assert update_calls == []
    (line,) = log_lines(capsys)
    assert line["decision"] == "ignored"


def test_deleted_service_raises(ecs):
    ecs.delete_service(cluster=ENV["CLUSTER_NAME"], service=ENV["SERVICE_NAME"], force=True)
    with pytest.raises(RuntimeError, match="not active"):
        redeploy.handler(push(), None)
