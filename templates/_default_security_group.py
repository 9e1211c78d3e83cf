"""The custom resource that closes the VPC's default security group (Security Hub EC2.2).

CloudFormation has no property for the rules of the default group AWS creates with every VPC,
so, as the AWS CDK does for `restrictDefaultSecurityGroup`, a small inline Lambda revokes them
when the stack is created or updated. Its role may revoke rules on that one group only. Nothing
here uses the default group; closing it keeps anything placed in it by mistake isolated.
"""

from __future__ import annotations

from pathlib import Path

from awacs import ec2 as awacs_ec2, logs as awacs_logs
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import AWSObject, GetAtt, Ref, Sub, Template
from troposphere.awslambda import Function, LoggingConfig
from troposphere.iam import Policy, Role
from troposphere.logs import LogGroup
from troposphere.ec2 import VPC

from enrollcfn.config import Config
from templates._helpers import inline_code, scanner_skips, service_role_trust

SOURCE = Path(__file__).resolve().parents[1] / "lambda" / "default_security_group" / "index.py"
RUNTIME = "python3.13"
RESOURCE_TYPE = "Custom::DefaultSecurityGroupRules"
# CloudFormation waits up to an hour for a custom resource's answer by default; the function
# answers within its own 60 s timeout, so a lost answer fails the stack in 5 minutes instead.
SERVICE_TIMEOUT = 300


class DefaultSecurityGroupRules(AWSObject):
    """The custom resource; its properties are what the function reads."""

    resource_type = RESOURCE_TYPE
    props = {"ServiceToken": (str, True), "ServiceTimeout": (int, False), "GroupId": (str, True), "Account": (str, True)}


def restrict(t: Template, cfg: Config, vpc: VPC) -> None:
    """Add the function, its log group and role, and the custom resource that runs it."""
    group = GetAtt(vpc, "DefaultSecurityGroup")
    log_group = t.add_resource(
        LogGroup(
            "DefaultSecurityGroupFunctionLogGroup",
            RetentionInDays=cfg.logs.retention_days,
            Metadata=scanner_skips(checkov={"CKV_AWS_158": "Encrypted with the CloudWatch Logs service key; the lines hold a group id and the rules revoked"}),
        )
    )
    policy = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Action=[awacs_ec2.RevokeSecurityGroupIngress, awacs_ec2.RevokeSecurityGroupEgress],
                Resource=[Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/${Vpc.DefaultSecurityGroup}")],
            ),
            Statement(Effect=Allow, Action=[awacs_logs.CreateLogStream, awacs_logs.PutLogEvents], Resource=[GetAtt(log_group, "Arn")]),
        ],
    )
    role = t.add_resource(
        Role(
            "DefaultSecurityGroupFunctionRole",
            AssumeRolePolicyDocument=service_role_trust("lambda.amazonaws.com"),
            Policies=[Policy(PolicyName="revoke-default-security-group-rules", PolicyDocument=policy)],
        )
    )
    function = t.add_resource(
        Function(
            "DefaultSecurityGroupFunction",
            Description=f"Revoke the default security group rules of the {cfg.project} {cfg.environment} VPC",
            Runtime=RUNTIME,
            Handler="index.handler",
            Code=inline_code("network", SOURCE.name, SOURCE.read_text(encoding="utf-8")),
            Role=GetAtt(role, "Arn"),
            Timeout=60,
            MemorySize=128,
            LoggingConfig=LoggingConfig(LogGroup=Ref(log_group)),
            Metadata=scanner_skips(
                checkov={
                    "CKV_AWS_115": "Runs once per stack create or update; reserving concurrency would take it from the account's pool for nothing",
                    "CKV_AWS_116": "CloudFormation waits for the answer and fails the stack operation after ServiceTimeout, so a lost event is never silent",
                    "CKV_AWS_117": "Calls only the EC2 API; inside the VPC it would need the NAT or an endpoint for no isolation gain",
                    "CKV_AWS_173": "No environment variables are set",
                    "CKV_AWS_272": "The code is inline in the reviewed template; code signing applies only to packages uploaded as zip files",
                }
            ),
        )
    )
    t.add_resource(
        DefaultSecurityGroupRules(
            "DefaultSecurityGroupRestriction",
            ServiceToken=GetAtt(function, "Arn"),
            ServiceTimeout=SERVICE_TIMEOUT,
            GroupId=group,
            Account=Ref("AWS::AccountId"),
        )
    )
