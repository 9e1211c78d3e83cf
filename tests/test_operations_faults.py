"""Rough edges of talking to AWS: an unreachable endpoint and missing credentials fail fast with one
line, and Ctrl-C during a deploy says each stack's state and the commands to go on."""

from __future__ import annotations

import datetime as dt
import time

import boto3
from botocore.stub import Stubber

from enrollcfn.cli import main
from enrollcfn.local.server import free_port
from enrollcfn.pipeline import interrupted

BOUND = 5.0  # seconds: the most a person should wait to hear the endpoint is not there


def test_a_closed_port_fails_within_5_seconds_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    started = time.monotonic()
    code = main(["status", "--stack", "se-prod"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and elapsed < BOUND, elapsed
    assert len(err) == 1 and err[0].startswith("error: aws: Could not connect to the endpoint URL")


def test_missing_credentials_fail_within_5_seconds_with_one_line(monkeypatch, capsys, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    started = time.monotonic()
    code = main(["drift", "--stack", "se-prod"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and elapsed < BOUND, elapsed
    assert err == ["error: aws: Unable to locate credentials"]


def test_ctrl_c_message_names_each_stack_state_and_the_commands(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    cfn = boto3.client("cloudformation", region_name="ap-southeast-2")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    stack_id = "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/se-prod/1"
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", {"Stacks": [{"StackName": "se-prod", "StackId": stack_id, "CreationTime": now,
                                                          "StackStatus": "UPDATE_IN_PROGRESS"}]})
        stub.add_response("list_stack_resources", {"StackResourceSummaries": [
            {"LogicalResourceId": "ServiceStack", "PhysicalResourceId": "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/x/2",
             "ResourceType": "AWS::CloudFormation::Stack", "LastUpdatedTimestamp": now, "ResourceStatus": "UPDATE_IN_PROGRESS"}]})
        text = interrupted(cfn, "se-prod")
    assert "(now: se-prod UPDATE_IN_PROGRESS, ServiceStack UPDATE_IN_PROGRESS)" in text
    assert "`aws cloudformation cancel-update-stack --stack-name se-prod`" in text
    assert "`enrollcfn recover --stack se-prod`" in text and "`enrollcfn status --stack se-prod`" in text
