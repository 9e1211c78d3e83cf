"""The bootstrap stack's permissions boundary and artifact bucket policy, evaluated as IAM would
(tests/policy_eval.py): every product role carries the boundary, the boundary allows what the
roles do and no IAM, and only publishers write what Service Catalog launches."""

from __future__ import annotations

import pytest

from tests.conftest import resources_of
from tests.policy_eval import ACCOUNT, REGION, Policy, resolve

PRODUCT = ("network", "security", "database", "cluster", "load_balancer", "service", "redeploy", "monitoring")
BOUNDARY_NAME = "student-enrollment-production-boundary"  # <project>-<environment>-boundary of the seed
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/{BOUNDARY_NAME}"
# AWS's managed AmazonRDSEnhancedMonitoringRole policy (its documented version 1 statements).
RDS_MONITORING_ACTIONS = ("logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:CreateLogStream", "logs:PutLogEvents",
                          "logs:DescribeLogStreams", "logs:GetLogEvents")  # fmt: skip


def _product_roles(rendered):
    for name in PRODUCT:
        for key, role in resources_of(rendered[name], "AWS::IAM::Role").items():
            yield f"{name}.{key}", role["Properties"]


@pytest.fixture(scope="module")
def boundary(rendered) -> Policy:
    (policy,) = resources_of(rendered["bootstrap"], "AWS::IAM::ManagedPolicy").values()
    assert policy["Properties"]["ManagedPolicyName"] == BOUNDARY_NAME and len(BOUNDARY_NAME) <= 128  # IAM's name limit
    return Policy([resolve(s, {}) for s in policy["Properties"]["PolicyDocument"]["Statement"]])


def test_every_product_role_carries_the_boundary_and_the_product_path(rendered):
    roles = dict(_product_roles(rendered))
    # execution, database-user execution, task, traffic, flow log, redeploy, RDS monitoring, and
    # the three custom-resource functions (default security group, log retention, one-off tasks)
    assert len(roles) == 10
    for key, props in roles.items():
        assert resolve(props["PermissionsBoundary"], {}) == BOUNDARY, key
        assert props["Path"] == "/student-enrollment/production/", key


def test_the_boundary_allows_every_action_the_product_roles_are_given(rendered, boundary):
    needed = []
    for key, props in _product_roles(rendered):
        for policy in props.get("Policies", []):
            for s in policy["PolicyDocument"]["Statement"]:
                # the request the role's own condition describes (PassRole: passed to ECS tasks)
                ctx = {k: v for op, kv in s.get("Condition", {}).items() if op == "StringEquals" for k, v in kv.items()}
                needed += [(key, a, r, ctx) for a in s["Action"] for r in resolve(s["Resource"], {
                    "AppLogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/app", "FunctionLogGroup.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:fn",
                    "AppSecret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:AppSecret-a", "DatabaseSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-1",
                    "ServiceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/student-enrollment-production/student-enrollment-production",
                    "DeadLetterQueue.Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq", "FlowLogGroup.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:flow",
                    "Vpc.DefaultSecurityGroup": "sg-0123456789abcdef0", "Database": "se-database-1",
                    "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/student-enrollment/production/se-ExecutionRole-1",
                    "TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/student-enrollment/production/se-TaskRole-1",
                    "DatabaseUserExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/student-enrollment/production/se-DatabaseUserExecutionRole-1",
                    "AppDatabaseSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:AppDatabaseSecret-a",
                    "RootStackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/se-prod/6c1f9a30-0000-11ef-8a2b-0a1b2c3d4e5f",
                    "OneOffTaskFunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:se-OneOffTaskFunction-1",
                    "ClusterName": "student-enrollment-production",
                    **{name: f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:{kind}" for name, kind in (
                        ("TargetGroupArn", "targetgroup/se-tg/1"), ("AlternateTargetGroupArn", "targetgroup/se-tg2/2"),
                        ("HttpsListenerArn", "listener/app/se/1/2"), ("ProductionListenerRuleArn", "listener-rule/app/se/1/2/3"),
                        ("TestListenerRuleArn", "listener-rule/app/se/1/2/4"))},
                    "TrafficRoleArn": f"arn:aws:iam::{ACCOUNT}:role/student-enrollment/production/se-TrafficRole-1",
                    "TaskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/student-enrollment-production:3",
                    "DatabaseUserTaskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/student-enrollment-production-dbuser:3",
                    **{f"{role}.Arn": f"arn:aws:iam::{ACCOUNT}:role/student-enrollment/production/se-{role}-1" for role in (
                        "ExecutionRole", "TaskRole", "DatabaseUserExecutionRole")},
                    **{f"{lg}.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{lg}" for lg in (
                        "DefaultSecurityGroupFunctionLogGroup", "DatabaseLogRetentionFunctionLogGroup", "OneOffTaskFunctionLogGroup")},
                })]  # fmt: skip
        if props.get("ManagedPolicyArns"):
            needed += [(key, a, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:RDSOSMetrics", {}) for a in RDS_MONITORING_ACTIONS]
    assert len(needed) > 15
    refused = [(k, a, r) for k, a, r, ctx in needed if not boundary.allows(a, r, ctx)]
    assert not refused


def test_the_boundary_allows_no_iam_and_nothing_beyond_the_roles_needs(boundary):
    role = f"arn:aws:iam::{ACCOUNT}:role/student-enrollment/production/x"
    for action in ("iam:CreateRole", "iam:PassRole", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion"):
        assert boundary.decide(action, role) == "deny", action
    # passing the product's own roles to ECS tasks (a new task-definition revision) is all of IAM
    assert boundary.allows("iam:PassRole", role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert boundary.decide("iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"}) == "deny"
    other = f"arn:aws:iam::{ACCOUNT}:role/Admin"
    assert not boundary.allows("iam:PassRole", other, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not boundary.allows("s3:GetObject", "arn:aws:s3:::some-other-bucket/key")
    assert not boundary.allows("ecs:UpdateService", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/other-cluster/other")
    assert not boundary.allows("ec2:RunInstances", "*") and not boundary.allows("sts:AssumeRole", role)


# ---- the artifact bucket: only publishers write ----------------------------------------------


def _bucket_policy(rendered, publishers: str) -> Policy:
    (policy,) = resources_of(rendered["bootstrap"], "AWS::S3::BucketPolicy").values()
    refs = {"ArtifactBucket.Arn": "arn:aws:s3:::artifacts", "PublisherArns": [p for p in publishers.split(",") if p] or [""]}
    doc = resolve(policy["Properties"]["PolicyDocument"], refs, {"HasPublisherArns": bool(publishers)})
    return Policy(doc["Statement"])


TAG = "aws:PrincipalTag/student-enrollment-production-publisher"
KEY = "arn:aws:s3:::artifacts/templates/root-0123456789abcdef.yaml"
TLS = {"aws:SecureTransport": "true"}


@pytest.mark.parametrize("action", ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketVersioning"])
def test_only_tagged_publishers_change_artifacts(rendered, action):
    policy = _bucket_policy(rendered, "")
    resource = "arn:aws:s3:::artifacts" if action == "s3:PutBucketVersioning" else KEY
    assert policy.decide(action, resource, {**TLS, "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/Developer"}) == "deny"
    assert policy.decide(action, resource, {**TLS, TAG: "false"}) == "deny"
    assert policy.decide(action, resource, {**TLS, TAG: "true"}) != "deny"


def test_named_publishers_write_when_listed(rendered):
    publisher = f"arn:aws:iam::{ACCOUNT}:role/release-pipeline"
    policy = _bucket_policy(rendered, publisher)
    assert policy.decide("s3:PutObject", KEY, {**TLS, "aws:PrincipalArn": publisher}) != "deny"
    assert policy.decide("s3:PutObject", KEY, {**TLS, "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/Developer"}) == "deny"


def test_reading_a_pinned_version_is_not_restricted_but_insecure_transport_is(rendered):
    policy = _bucket_policy(rendered, "")
    assert policy.decide("s3:GetObjectVersion", KEY, TLS) != "deny"
    assert policy.decide("s3:GetObjectVersion", KEY, {"aws:SecureTransport": "false", TAG: "true"}) == "deny"


EXEC_ACTIONS = ("ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel", "logs:DescribeLogGroups")  # fmt: skip


@pytest.fixture(scope="module")
def dev_rendered():
    """config/dev.yaml, which turns ECS Exec on (service.exec_enabled)."""
    from enrollcfn.compiler import compile
    from enrollcfn.config import load

    return {name: stack.doc for name, stack in compile(load("config/dev.yaml")).stacks.items()}


def test_ecs_exec_passes_the_boundary_the_task_role_carries(dev_rendered):
    """Effective permissions are the intersection of the role's policies and its boundary (IAM user
    guide, "Permissions boundaries for IAM entities"): every action the task role is given for
    ECS Exec (the SSM agent's four ssmmessages channel actions and logs:DescribeLogGroups, none of
    them resource-level) must be allowed by the boundary too, or exec never connects."""
    (policy,) = resources_of(dev_rendered["bootstrap"], "AWS::IAM::ManagedPolicy").values()
    boundary = Policy([resolve(s, {}) for s in policy["Properties"]["PolicyDocument"]["Statement"]])
    task = dev_rendered["service"]["Resources"]["TaskRole"]["Properties"]
    assert resolve(task["PermissionsBoundary"], {}) == f"arn:aws:iam::{ACCOUNT}:policy/{policy['Properties']['ManagedPolicyName']}"
    statements = [resolve(s, {"AppLogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/app"})
                  for p in task["Policies"] for s in p["PolicyDocument"]["Statement"]]
    role = Policy(statements)
    for action in EXEC_ACTIONS:
        assert role.allows(action, "*"), action  # what the role grants (service.exec_enabled)
        assert boundary.allows(action, "*"), action  # and what the boundary lets through
    # the exec session's own log lines in the application log group
    stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/app:log-stream:ecs-execute-command-1"
    assert all(role.allows(a, stream) and boundary.allows(a, stream) for a in ("logs:CreateLogStream", "logs:PutLogEvents"))


def test_the_exec_allowance_reopens_nothing_the_boundary_denied(boundary):
    """Still no IAM, no Systems Manager beyond the agent's channels, nothing the roles do not use."""
    role = f"arn:aws:iam::{ACCOUNT}:role/student-enrollment/production/x"
    assert all(boundary.decide(a, role) == "deny" for a in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePermissionsBoundary"))
    for action in ("ssm:StartSession", "ssm:SendCommand", "logs:DeleteLogGroup", "logs:CreateExportTask", "ec2:RunInstances"):
        assert not boundary.allows(action, "*"), action
    assert all(boundary.allows(a, "*") for a in EXEC_ACTIONS)
