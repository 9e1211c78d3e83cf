"""Invariants of the redeploy and monitoring stacks: what the seed promised or lacked, pinned so a
regression fails."""

from __future__ import annotations

import pytest

from enrollcfn.errors import CompileError
from enrollcfn.templates import redeploy
from tests.conftest import resources_of


def one(template: dict, type_: str) -> dict:
    (resource,) = resources_of(template, type_).values()
    return resource["Properties"]


# ---- redeploy -------------------------------------------------------------------------------


def test_rule_matches_only_successful_pushes_of_the_repository_and_tag(rendered):
    pattern = one(rendered["redeploy"], "AWS::Events::Rule")["EventPattern"]
    assert pattern["source"] == ["aws.ecr"] and pattern["detail-type"] == ["ECR Image Action"]
    detail = pattern["detail"]
    assert detail["action-type"] == ["PUSH"] and detail["result"] == ["SUCCESS"]
    assert detail["repository-name"] == ["student-enrollment-laravel-api"]
    assert detail["image-tag"] == [{"Ref": "ImageTag"}]


def test_rule_target_retries_and_dead_letters(rendered):
    (target,) = one(rendered["redeploy"], "AWS::Events::Rule")["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_function_is_current_serialised_bounded_and_logs_to_its_own_group(rendered):
    fn = one(rendered["redeploy"], "AWS::Lambda::Function")
    assert fn["Runtime"] in ("python3.12", "python3.13") and fn["Timeout"] == 30
    assert fn["ReservedConcurrentExecutions"] == 1
    assert fn["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}
    assert one(rendered["redeploy"], "AWS::Logs::LogGroup")["RetentionInDays"] == 30
    assert fn["DeadLetterConfig"]["TargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_function_code_is_the_reviewed_source_byte_for_byte(rendered):
    fn = one(rendered["redeploy"], "AWS::Lambda::Function")
    assert fn["Code"]["ZipFile"] == redeploy.SOURCE.read_text(encoding="utf-8")
    assert fn["Handler"] == "index.handler"


def test_source_over_the_inline_limit_is_a_compile_error():
    with pytest.raises(CompileError, match="4096"):
        redeploy.inline_code("#" * 4097)


def test_role_may_only_update_and_describe_the_one_service(rendered):
    role = one(rendered["redeploy"], "AWS::IAM::Role")
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    ecs = [s for s in statements if any(a.startswith("ecs:") for a in s["Action"])]
    assert ecs == [{"Action": ["ecs:UpdateService", "ecs:DescribeServices"], "Effect": "Allow", "Resource": [{"Ref": "ServiceArn"}]}]
    assert all("*" not in str(s["Resource"]) for s in statements)


def test_only_the_rule_may_invoke_the_function(rendered):
    permission = one(rendered["redeploy"], "AWS::Lambda::Permission")
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["PushRule", "Arn"]}
