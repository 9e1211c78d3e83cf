"""Invariants of the redeploy and monitoring stacks: what the seed promised or lacked, pinned so a
regression fails."""

from __future__ import annotations

import json
import math

import pytest
from cfn_flip import load_yaml

from enrollcfn.compiler import BUILD_DIR, compile
from enrollcfn.config import Config, load, parse
from enrollcfn.errors import ConfigErrors
from enrollcfn.errors import CompileError
from enrollcfn.templates import monitoring, redeploy
from tests.conftest import resource_schema, resources_of


def one(template: dict, type_: str) -> dict:
    (resource,) = resources_of(template, type_).values()
    return resource["Properties"]


# ---- redeploy -------------------------------------------------------------------------------


def props(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]


def test_rule_matches_only_successful_pushes_of_release_tags_of_the_repository(rendered):
    pattern = props(rendered["redeploy"], "PushRule")["EventPattern"]
    assert pattern["source"] == ["aws.ecr"] and pattern["detail-type"] == ["ECR Image Action"]
    detail = pattern["detail"]
    assert detail["action-type"] == ["PUSH"] and detail["result"] == ["SUCCESS"]
    assert detail["repository-name"] == ["student-enrollment-production"]
    # EventBridge content filtering: {"prefix": ...} matches the start of the value.
    assert detail["image-tag"] == [{"prefix": "release-"}]


def test_each_rule_target_retries_and_dead_letters(rendered):
    rules = resources_of(rendered["redeploy"], "AWS::Events::Rule")
    assert set(rules) == {"PushRule"}
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["Function", "Arn"]}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    # EventBridge may write to the dead-letter queue for the rule, and for nothing else
    (policy,) = [s for p in resources_of(rendered["redeploy"], "AWS::SQS::QueuePolicy").values()
                 for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert policy["Condition"]["ArnEquals"]["aws:SourceArn"] == [{"Fn::GetAtt": ["PushRule", "Arn"]}]


def test_no_task_reads_the_master_secret_so_its_rotation_restarts_nothing(rendered):
    """RDS rotates its managed master password every 7 days; running tasks would keep the old one.
    Only the release's database-user task reads it (when it starts), so no restart on rotation."""
    assert "RotationRule" not in rendered["redeploy"]["Resources"]
    service = rendered["service"]["Resources"]
    readers = [k for k, r in service.items() if r["Type"] == "AWS::ECS::TaskDefinition"
               and "DatabaseSecretArn}" in json.dumps(r["Properties"]["ContainerDefinitions"]).replace("AppDatabaseSecretArn}", "")]
    assert readers == ["DatabaseUserTaskDefinition"]


def test_function_is_current_bounded_and_logs_to_its_own_group(rendered):
    fn = one(rendered["redeploy"], "AWS::Lambda::Function")
    assert fn["Runtime"] in ("python3.12", "python3.13") and fn["Timeout"] == 30
    # no reservation unless configured: Lambda refuses one that leaves under 100 unreserved
    assert "ReservedConcurrentExecutions" not in fn
    assert fn["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}
    assert one(rendered["redeploy"], "AWS::Logs::LogGroup")["RetentionInDays"] == 30
    assert fn["DeadLetterConfig"]["TargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_function_code_is_the_reviewed_source_byte_for_byte(rendered):
    fn = one(rendered["redeploy"], "AWS::Lambda::Function")
    assert fn["Code"]["ZipFile"] == redeploy.SOURCE.read_text(encoding="utf-8")
    assert fn["Handler"] == "index.handler"


def test_source_over_the_inline_limit_is_a_compile_error():
    with pytest.raises(CompileError, match="8192"):
        redeploy.inline_code("#" * 8193)


def _schema_handlers(type_name: str, operations: tuple[str, ...]) -> set[str]:
    """The permissions CloudFormation's handlers of `type_name` need for `operations` (the
    registry schemas cfn-lint bundles)."""
    schema = resource_schema(type_name)
    return {p for op in operations for p in schema["handlers"][op]["permissions"]}


def test_role_may_do_what_a_release_update_needs_and_nothing_of_other_services(rendered):
    """CloudFormation runs a push-triggered release as the function's role: it updates the root
    and nested stacks, replaces the task definitions and updates the service, so the role needs
    those handlers' permissions, on this product's resources only."""
    role = one(rendered["redeploy"], "AWS::IAM::Role")
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    granted = {a for s in statements for a in s["Action"]}
    needed = (_schema_handlers("AWS::CloudFormation::Stack", ("update", "read")) | _schema_handlers("AWS::ECS::TaskDefinition", ("create", "read", "delete"))
              | _schema_handlers("AWS::ECS::Service", ("update", "read")) | {"lambda:InvokeFunction"})
    assert needed <= granted, needed - granted
    passing = [s for s in statements if s["Action"] == ["iam:PassRole"]]
    assert [(s["Resource"], s["Condition"]["StringEquals"]["iam:PassedToService"]) for s in passing] == [
        ([{"Ref": r} for r in ("ExecutionRoleArn", "TaskRoleArn", "DatabaseUserExecutionRoleArn")], "ecs-tasks.amazonaws.com"),
        ([{"Ref": "TrafficRoleArn"}], "ecs.amazonaws.com"),  # production's canary release moves traffic with it
    ]
    service = [s for s in statements if "ecs:UpdateService" in s["Action"]]
    assert [s["Resource"] for s in service] == [[{"Ref": "ServiceArn"}]]
    stacks = next(s for s in statements if "cloudformation:UpdateStack" in s["Action"])
    assert stacks["Resource"][0] == {"Ref": "RootStackId"}  # the root, and the nested stacks named after it
    # Only the task-definition calls, which IAM cannot scope, use "*".
    assert all("*" not in s["Resource"] or set(s["Action"]) <= {"ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition",
                                                                 "ecs:DeregisterTaskDefinition"} for s in statements)


def test_function_knows_the_root_stack_repository_and_prefix(rendered):
    variables = one(rendered["redeploy"], "AWS::Lambda::Function")["Environment"]["Variables"]
    assert variables == {"ROOT_STACK": {"Ref": "RootStackId"}, "TAG_PREFIX": "release-", "REPOSITORY_NAME": "student-enrollment-production",
                         "DIGEST_PARAMETER": "ImageDigest", "TAG_PARAMETER": "ImageTag"}
    assert {"ImageDigest", "ImageTag"} <= set(rendered["root"]["Parameters"])
    assert rendered["root"]["Resources"]["RedeployStack"]["Properties"]["Parameters"]["RootStackId"] == {"Ref": "AWS::StackId"}


def test_reserved_concurrency_is_a_config_value():
    fn = compile(Config(registry={"redeploy_reserved_concurrency": 1})).stacks["redeploy"].doc["Resources"]["Function"]
    assert fn["Properties"]["ReservedConcurrentExecutions"] == 1


def test_only_the_rules_may_invoke_the_function(rendered):
    permissions = resources_of(rendered["redeploy"], "AWS::Lambda::Permission").values()
    assert {p["Properties"]["Principal"] for p in permissions} == {"events.amazonaws.com"}
    assert sorted(p["Properties"]["SourceArn"]["Fn::GetAtt"][0] for p in permissions) == ["PushRule"]


# ---- monitoring -----------------------------------------------------------------------------


def alarms(rendered) -> dict[str, dict]:
    return {lid: r["Properties"] for lid, r in resources_of(rendered["monitoring"], "AWS::CloudWatch::Alarm").items()}


def test_every_alarm_the_seed_promised_exists_and_notifies_the_topic(rendered):
    found = {(a["Namespace"], a["MetricName"]) for a in alarms(rendered).values()}
    assert {
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ECS", "MemoryUtilization"),
        ("ECS/ContainerInsights", "RunningTaskCount"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "FreeableMemory"),
        ("AWS/RDS", "DatabaseConnections"),
    } <= found
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms(rendered).values())


def test_running_task_alarm_fires_below_the_minimum_and_when_the_metric_stops(rendered):
    (alarm,) = [a for a in alarms(rendered).values() if a["MetricName"] == "RunningTaskCount"]
    assert alarm["Threshold"] == 2.0 and alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["TreatMissingData"] == "breaching"


def test_topic_is_encrypted_with_a_key_cloudwatch_and_budgets_may_use(rendered):
    topic = one(rendered["monitoring"], "AWS::SNS::Topic")
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = one(rendered["monitoring"], "AWS::KMS::Key")
    assert key["EnableKeyRotation"] is True
    services = [s["Principal"].get("Service") for s in key["KeyPolicy"]["Statement"]]
    assert ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"] in services


def test_no_email_subscription_unless_configured(rendered):
    assert not resources_of(rendered["monitoring"], "AWS::SNS::Subscription")
    cfg = Config(monitoring={"alarm_email": "ops@example.com"})
    sub = monitoring.build(cfg).to_dict()["Resources"]["AlarmEmail"]["Properties"]
    assert (sub["Protocol"], sub["Endpoint"]) == ("email", "ops@example.com")


def test_budget_is_a_root_parameter_defaulting_to_the_estimate_rounded_up(rendered):
    # The estimate is build/cost.json's total (what `enrollcfn cost` shows); the seed's practice
    # is a budget at the estimate, alerting at 80 % and 100 %.
    total = json.loads((BUILD_DIR / "cost.json").read_text(encoding="utf-8"))["total"]
    budget = one(rendered["monitoring"], "AWS::Budgets::Budget")
    assert budget["Budget"]["BudgetLimit"] == {"Amount": {"Ref": "MonthlyBudgetUsd"}, "Unit": "USD"}
    assert sorted(n["Notification"]["Threshold"] for n in budget["NotificationsWithSubscribers"]) == [80.0, 100.0]
    assert rendered["root"]["Parameters"]["MonthlyBudgetUsd"]["Default"] == math.ceil(total)
    assert rendered["root"]["Resources"]["MonitoringStack"]["Properties"]["Parameters"]["MonthlyBudgetUsd"] == {"Ref": "MonthlyBudgetUsd"}


def test_configured_budget_replaces_the_estimate():
    cfg = Config(monitoring={"monthly_budget_usd": 250.0})
    assert compile(cfg)["root"].doc["Parameters"]["MonthlyBudgetUsd"]["Default"] == 250


@pytest.mark.parametrize(
    "field, value, key",
    [("alarm_email", "not-an-address", "monitoring.alarm_email"), ("monthly_budget_usd", -1.0, "monitoring.monthly_budget_usd")],
)
def test_bad_monitoring_values_are_rejected_by_key(field, value, key):
    with pytest.raises(ConfigErrors) as err:
        parse({"monitoring": {field: value}})
    assert [p.key for p in err.value.problems] == [key]


# ---- whose spend the budget counts, and who hears the alarms --------------------------------


ENVIRONMENT_KEY = "environment"  # the stack tag key, as the README tells the reader to activate it


def _model(service: str):
    """botocore's service model (the API's own shapes and limits)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def _budget(templates: dict) -> dict:
    (budget,) = resources_of(templates["monitoring"], "AWS::Budgets::Budget").values()
    return budget["Properties"]


def test_budget_counts_only_costs_tagged_with_this_environment_as_deploy_tags_its_stacks():
    from enrollcfn.pipeline import stack_tags

    for cfg, path in ((Config(), BUILD_DIR / "monitoring.yaml"), (load("config/dev.yaml"), None)):
        text = path.read_text(encoding="utf-8") if path else compile(cfg)["monitoring"].text
        data = load_yaml(text)["Resources"]["MonthlyBudget"]["Properties"]["Budget"]
        tags = stack_tags(cfg, "any-stack")  # what deploy puts on every stack; CloudFormation copies them to resources
        # Budgets: a user-defined cost allocation tag is `user:<key>`, and TagKeyValue is key$value.
        assert data["CostFilters"] == {"TagKeyValue": [f"user:{ENVIRONMENT_KEY}${cfg.environment}"]}
        assert tags[ENVIRONMENT_KEY] == cfg.environment
        # CreateBudget: "Either FilterExpression and Metrics or CostFilters and CostTypes, not both".
        assert not {"FilterExpression", "Metrics"} & data.keys()


def test_two_environments_budgets_count_different_costs():
    filters = {json.dumps(_budget({"monitoring": compile(cfg)["monitoring"].doc})["Budget"]["CostFilters"])
               for cfg in (Config(), load("config/dev.yaml"))}
    assert len(filters) == 2

TOPIC = "arn:aws:sns:ap-southeast-2:123456789012:ops-chat"


def test_an_existing_topic_hears_every_alarm_and_the_budget_beside_the_email():
    cfg = Config(monitoring={"alarm_topic_arn": TOPIC, "alarm_email": "ops@example.com"})
    t = monitoring.build(cfg).to_dict()
    actions_max = _model("cloudwatch").shape_for("ResourceList").metadata["max"]  # PutMetricAlarm: at most 5
    for lid, alarm in resources_of(t, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"] == [{"Ref": "AlarmTopic"}, TOPIC], lid
        assert len(alarm["Properties"]["AlarmActions"]) <= actions_max
    subscribers_max = _model("budgets").shape_for("Subscribers").metadata["max"]
    for n in _budget({"monitoring": t})["NotificationsWithSubscribers"]:
        subs = n["Subscribers"]
        # Budgets API: "A notification can have one SNS subscriber and up to 10 email subscribers".
        assert [s for s in subs if s["SubscriptionType"] == "SNS"] == [{"SubscriptionType": "SNS", "Address": TOPIC}]
        assert {"SubscriptionType": "EMAIL", "Address": "ops@example.com"} in subs and len(subs) <= subscribers_max


def test_without_a_topic_the_budget_notifies_the_alarm_topic(rendered):
    for n in _budget(rendered)["NotificationsWithSubscribers"]:
        assert n["Subscribers"] == [{"SubscriptionType": "SNS", "Address": {"Ref": "AlarmTopic"}}]


@pytest.mark.parametrize("arn, ok", [
    (TOPIC, True),
    ("arn:aws:sns:ap-southeast-2:123456789012:" + "a" * 256, True),
    ("arn:aws-us-gov:sns:us-gov-west-1:123456789012:ops", False),  # another partition than ap-southeast-2's
    ("arn:aws:sns:ap-southeast-2:123456789012:" + "a" * 257, False),  # SNS topic names: 1-256 characters
    ("arn:aws:sns:ap-southeast-2:123456789012:ops.fifo", False),  # FIFO topics deliver only to SQS FIFO queues
    ("arn:aws:sqs:ap-southeast-2:123456789012:ops", False),
    ("arn:aws:sns:ap-southeast-2:12345678901:ops", False),
    ("ops-chat", False),
])
def test_alarm_topic_arn_must_be_a_standard_sns_topic(arn, ok):
    if ok:
        assert parse({"monitoring": {"alarm_topic_arn": arn}}).monitoring.alarm_topic_arn == arn
    else:
        with pytest.raises(ConfigErrors) as err:
            parse({"monitoring": {"alarm_topic_arn": arn}})
        assert [p.key for p in err.value.problems] == ["monitoring.alarm_topic_arn"]
