"""The redeploy Lambda: its event filter as a pure function, and its handler under botocore's
Stubber against CloudFormation's service model (DescribeStacks, UpdateStack): a release is an
update of the root stack with its own template and the pushed digest."""

from __future__ import annotations

import json

import pytest

from tests.conftest import load_function, stubbed

STACK_ID = "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/se-prod/6c1f9a30-0000-11ef-8a2b-0a1b2c3d4e5f"
ENV = {"ROOT_STACK": STACK_ID, "REPOSITORY_NAME": "student-enrollment-production", "TAG_PREFIX": "release-",
       "DIGEST_PARAMETER": "ImageDigest", "TAG_PARAMETER": "ImageTag"}
OLD = "sha256:" + "0" * 64
NEW = "sha256:" + "a" * 64


redeploy = load_function("redeploy")


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


@pytest.fixture
def cfn(monkeypatch):
    for client in stubbed("cloudformation"):
        monkeypatch.setattr(redeploy.boto3, "client", lambda service: client)
        for key, value in ENV.items():
            monkeypatch.setenv(key, value)
        yield client


def _stack(digest: str) -> dict:
    """A DescribeStacks entry of the root (CloudFormation API Reference, "Stack")."""
    parameters = {"ImageDigest": digest, "ImageTag": "release-41", "ApiDomain": "server.example.com", "MonthlyBudget": "200"}
    return {"StackId": STACK_ID, "StackName": "se-prod", "CreationTime": "2026-12-01T00:00:00Z", "StackStatus": "UPDATE_COMPLETE",
            "Capabilities": ["CAPABILITY_NAMED_IAM"], "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]}


def test_a_push_updates_the_root_stack_with_its_own_template_and_the_pushed_digest(cfn, capsys):
    cfn.stub.add_response("describe_stacks", {"Stacks": [_stack(OLD)]}, {"StackName": STACK_ID})
    cfn.stub.add_response("update_stack", {"StackId": STACK_ID}, {
        "StackName": STACK_ID, "UsePreviousTemplate": True,
        "Parameters": [
            {"ParameterKey": "ImageDigest", "ParameterValue": NEW},
            {"ParameterKey": "ImageTag", "ParameterValue": "release-42"},
            {"ParameterKey": "ApiDomain", "UsePreviousValue": True},
            {"ParameterKey": "MonthlyBudget", "UsePreviousValue": True},
        ],
        # named IAM resources need CAPABILITY_NAMED_IAM (CloudFormation API Reference, UpdateStack)
        "Capabilities": ["CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    })
    result = redeploy.handler(push(), None)
    assert result == {"released": True, "stack": STACK_ID, "previous": OLD}
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["decision"], line["image-digest"], line["previous"]) == ("released", NEW, OLD)


def test_a_retried_push_of_the_digest_the_stack_holds_changes_nothing(cfn, capsys):
    cfn.stub.add_response("describe_stacks", {"Stacks": [_stack(NEW)]}, {"StackName": STACK_ID})
    assert redeploy.handler(push(), None)["released"] is False
    assert json.loads(capsys.readouterr().out)["decision"] == "unchanged"


@pytest.mark.parametrize("detail", [{"image-tag": "latest"}, {"repository-name": "other"}, {"result": "FAILURE"}],
                         ids=["tag without the prefix", "other repository", "failed push"])
def test_other_events_are_ignored_with_a_log_line(cfn, capsys, detail):
    assert redeploy.handler(push(**detail), None)["released"] is False  # no CloudFormation call queued
    assert json.loads(capsys.readouterr().out)["decision"] == "ignored"


def test_a_busy_stack_is_logged_and_raised_so_eventbridge_retries(cfn, capsys):
    cfn.stub.add_response("describe_stacks", {"Stacks": [_stack(OLD)]}, {"StackName": STACK_ID})
    cfn.stub.add_client_error("update_stack", "ValidationError", "Stack:se-prod is in UPDATE_IN_PROGRESS state and can not be updated.")
    with pytest.raises(Exception, match="UPDATE_IN_PROGRESS"):
        redeploy.handler(push(), None)
    assert json.loads(capsys.readouterr().out)["decision"] == "failed"


def test_a_stack_without_the_image_parameters_is_refused():
    stack = {**_stack(OLD), "Parameters": [{"ParameterKey": "ApiDomain", "ParameterValue": "x"}]}
    with pytest.raises(RuntimeError, match="ImageDigest, ImageTag"):
        redeploy.update_arguments(stack, {"ImageDigest": NEW, "ImageTag": "release-42"})
