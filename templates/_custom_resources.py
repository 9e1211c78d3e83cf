"""Lambda-backed custom resources for what CloudFormation has no property for.

- The rules of the VPC's default security group (Security Hub EC2.2): as the AWS CDK does for
  `restrictDefaultSecurityGroup`, a function revokes them when the stack is created or updated.
  Nothing here uses the default group; closing it keeps anything placed in it by mistake isolated.
- The retention of log groups a service creates for itself (RDS exports), as the CDK's
  LogRetention resource does.

Each function is inline (source in lambda/<name>/index.py), python3.13, with its own log group
and a role that may touch only the resources it exists for. No reserved concurrency: each runs
once per stack operation.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from awacs import ec2 as awacs_ec2, logs as awacs_logs
from awacs.aws import Action, Allow, PolicyDocument, Statement
from troposphere import AWSObject, GetAtt, Ref, Sub, Template
from troposphere.awslambda import Function, LoggingConfig
from troposphere.ec2 import VPC
from troposphere.iam import Policy, Role
from troposphere.logs import LogGroup

from enrollcfn.config import Config
from enrollcfn.templates import _control_tower
from enrollcfn.templates._helpers import inline_code, scanner_skips, service_role_trust
from enrollcfn.templates.bootstrap import product_role

LAMBDA_DIR = Path(str(resources.files("enrollcfn.functions")))  # lambda/, installed as enrollcfn.functions
RUNTIME = "python3.13"
# CloudFormation waits up to an hour for a custom resource's answer by default; the functions
# answer within their own 60 s timeout, so a lost answer fails the stack in 5 minutes instead.
SERVICE_TIMEOUT = 300


class DefaultSecurityGroupRules(AWSObject):
    """Revokes the default rules of GroupId (owned by Account)."""

    resource_type = "Custom::DefaultSecurityGroupRules"
    props = {"ServiceToken": (str, True), "ServiceTimeout": (int, False), "GroupId": (str, True), "Account": (str, True)}


class OneOffTask(AWSObject):
    """Runs TaskDefinition once (ContainerName's command replaced by Command) and succeeds when
    that container exits 0 (lambda/one_off_task)."""

    resource_type = "Custom::OneOffTask"
    props = {
        "ServiceToken": (str, True), "ServiceTimeout": (int, False), "Cluster": (str, True), "TaskDefinition": (str, True),
        "ContainerName": (str, True), "Command": (list, False), "Subnets": (list, True), "SecurityGroups": (list, True),
        "AssignPublicIp": (str, True), "LogGroup": (str, True), "StreamPrefix": (str, True),
    }


class LogRetention(AWSObject):
    """Creates each of LogGroupNames if missing and sets RetentionInDays."""

    resource_type = "Custom::LogRetention"
    props = {"ServiceToken": (str, True), "ServiceTimeout": (int, False), "LogGroupNames": (list, True), "RetentionInDays": (int, True)}


def _function(t: Template, cfg: Config, stack: str, title: str, source: str, description: str, statements: list[Statement], timeout: int = 60) -> Function:
    """An inline function `title` with its log group and a role of `statements` plus log writes."""
    path = LAMBDA_DIR / source / "index.py"
    log_group = t.add_resource(
        LogGroup(
            f"{title}LogGroup",
            RetentionInDays=cfg.logs.retention_days,
            **_control_tower.log_encryption(t, cfg),
            Metadata=scanner_skips(checkov={"CKV_AWS_158": "CloudWatch Logs encrypts the group at rest with its service key; the lines hold resource names and what was changed"}),
        )
    )
    write_logs = Statement(Effect=Allow, Action=[awacs_logs.CreateLogStream, awacs_logs.PutLogEvents], Resource=[GetAtt(log_group, "Arn")])
    role = t.add_resource(
        Role(
            f"{title}Role",
            AssumeRolePolicyDocument=service_role_trust("lambda.amazonaws.com"),
            Policies=[Policy(PolicyName=source.replace("_", "-"), PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[*statements, write_logs, *_control_tower.function_vpc_statements(cfg)]))],
            **product_role(cfg),
        )
    )
    return t.add_resource(
        Function(
            title,
            Description=description,
            Runtime=RUNTIME,
            Handler="index.handler",
            Code=inline_code(stack, f"lambda/{source}/index.py", path.read_text(encoding="utf-8")),
            Role=GetAtt(role, "Arn"),
            Timeout=timeout,
            MemorySize=128,
            LoggingConfig=LoggingConfig(LogGroup=Ref(log_group)),
            **_control_tower.function_vpc(t, cfg),
            Metadata=scanner_skips(
                checkov={
                    "CKV_AWS_115": "Runs once per stack create or update; reserving concurrency would take it from the account's pool for nothing",
                    "CKV_AWS_116": "CloudFormation waits for the answer and fails the stack operation after ServiceTimeout, so a lost event is never silent",
                    "CKV_AWS_117": "Calls only regional AWS APIs; inside the VPC it would need the NAT or an endpoint for no isolation gain",
                    "CKV_AWS_173": "No environment variables are set",
                    "CKV_AWS_272": "The code is inline in the reviewed template; code signing applies only to packages uploaded as zip files",
                }
            ),
        )
    )


def restrict_default_security_group(t: Template, cfg: Config, vpc: VPC) -> None:
    """Close `vpc`'s default security group (fix: the seed left it open, EC2.2)."""
    revoke = Statement(
        Effect=Allow,
        Action=[awacs_ec2.RevokeSecurityGroupIngress, awacs_ec2.RevokeSecurityGroupEgress],
        Resource=[Sub(f"arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:security-group/${{{vpc.title}.DefaultSecurityGroup}}")],
    )
    function = _function(
        t, cfg, "network", "DefaultSecurityGroupFunction", "default_security_group",
        f"Revoke the default security group rules of the {cfg.project} {cfg.environment} VPC", [revoke],
    )  # fmt: skip
    t.add_resource(
        DefaultSecurityGroupRules(
            "DefaultSecurityGroupRestriction",
            ServiceToken=GetAtt(function, "Arn"),
            ServiceTimeout=SERVICE_TIMEOUT,
            GroupId=GetAtt(vpc, "DefaultSecurityGroup"),
            Account=Ref("AWS::AccountId"),
            # compliance: control-tower: the function runs in the private subnets and reaches EC2 through the NAT.
            **({"DependsOn": sorted(r for r in t.resources if r.startswith("PrivateDefaultRoute"))} if _control_tower.enabled(cfg) else {}),
        )
    )


def retain_log_groups(t: Template, cfg: Config, stack: str, title: str, prefix: Sub, names: list[Sub]) -> None:
    """Retention for `names`, log groups under `prefix` that a service creates itself."""
    manage = Statement(
        Effect=Allow,
        Action=[Action("logs", "CreateLogGroup"), Action("logs", "PutRetentionPolicy")],
        Resource=[Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{prefix.data['Fn::Sub']}*")],
    )
    function = _function(t, cfg, stack, f"{title}Function", "log_retention", f"Set the retention of the {cfg.project} {cfg.environment} {stack} log groups", [manage])
    t.add_resource(
        LogRetention(f"{title}", ServiceToken=GetAtt(function, "Arn"), ServiceTimeout=SERVICE_TIMEOUT, LogGroupNames=names, RetentionInDays=cfg.logs.retention_days)
    )


# Lambda runs a function for at most 900 s; the one-off task function answers within it (it
# stops a task still running after 14 minutes). CloudFormation's ServiceTimeout allows 1-3600 s.
ONE_OFF_TIMEOUT = 900


def one_off_task_function(t: Template, cfg: Config, statements: list[Statement]) -> Function:
    """The function behind Custom::OneOffTask resources of the service stack."""
    return _function(
        t, cfg, "service", "OneOffTaskFunction", "one_off_task",
        f"Run the {cfg.project} {cfg.environment} database-user and migration tasks once per release", statements, timeout=ONE_OFF_TIMEOUT,
    )  # fmt: skip
