"""The redeploy Lambda: its event filter as a pure function, and its handler called directly with
boto3 pointed at a moto server over real HTTP (an ECS cluster and service created there first)."""

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
    "CLUSTER_NAME": "laravel-node",
    "SERVICE_NAME": "student-enrollment-service",
    "REPOSITORY_NAME": "student-enrollment-laravel-api",
    "IMAGE_TAG": "latest",
}


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
        "image-tag": ENV["IMAGE_TAG"],
        "image-digest": "sha256:" + "a" * 64,
    }
    return {"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": {**base, **detail}}


# ---- the filter -----------------------------------------------------------------------------


def test_filter_accepts_a_successful_push_of_the_tag():
    assert redeploy.skip_reason(push(), ENV["REPOSITORY_NAME"], "latest") is None


@pytest.mark.parametrize(
    "detail, key",
    [
        ({"image-tag": "v2"}, "image-tag"),
        ({"repository-name": "other"}, "repository-name"),
        ({"result": "FAILURE"}, "result"),
        ({"action-type": "DELETE"}, "action-type"),
    ],
)
def test_filter_names_the_field_that_does_not_match(detail, key):
    reason = redeploy.skip_reason(push(**detail), ENV["REPOSITORY_NAME"], "latest")
    assert reason and reason.startswith(key)


def test_filter_rejects_an_event_without_detail():
    assert redeploy.skip_reason({}, ENV["REPOSITORY_NAME"], "latest").startswith("action-type")


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
        family="app", containerDefinitions=[{"name": "app", "image": "app:latest", "memory": 512}]
    )
    client.create_service(cluster=ENV["CLUSTER_NAME"], serviceName=ENV["SERVICE_NAME"], taskDefinition="app", desiredCount=1)
    return client


def deployments(ecs) -> list[str]:
    (service,) = ecs.describe_services(cluster=ENV["CLUSTER_NAME"], services=[ENV["SERVICE_NAME"]])["services"]
    return [d["id"] for d in service["deployments"]]


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_matching_push_forces_a_new_deployment(ecs, capsys):
    before = deployments(ecs)
    result = redeploy.handler(push(), None)
    assert result["redeployed"] is True
    assert result["deployment"] in deployments(ecs) and result["deployment"] not in before
    (line,) = log_lines(capsys)
    assert line["decision"] == "redeployed" and line["service"] == ENV["SERVICE_NAME"]
    assert line["digest"] == "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "detail",
    [{"image-tag": "v2"}, {"repository-name": "someone-else"}, {"result": "FAILURE"}],
    ids=["other tag", "other repository", "failed push"],
)
def test_other_events_are_ignored_with_a_log_line(ecs, capsys, detail):
    before = deployments(ecs)
    result = redeploy.handler(push(**detail), None)
    assert result["redeployed"] is False
    assert deployments(ecs) == before
    (line,) = log_lines(capsys)
    assert line["decision"] == "ignored" and line["reason"] == result["reason"]


def test_ecs_error_is_logged_and_raised_so_eventbridge_retries(ecs, capsys, monkeypatch):
    monkeypatch.setenv("CLUSTER_NAME", "no-such-cluster")
    with pytest.raises(ClientError, match="ClusterNotFound"):
        redeploy.handler(push(), None)
    (line,) = log_lines(capsys)
    assert line["decision"] == "failed" and line["cluster"] == "no-such-cluster"


def test_deleted_service_raises(ecs):
    ecs.delete_service(cluster=ENV["CLUSTER_NAME"], service=ENV["SERVICE_NAME"], force=True)
    with pytest.raises(RuntimeError, match="not active"):
        redeploy.handler(push(), None)
