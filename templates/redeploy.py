"""Redeploy stack: an EventBridge rule on successful ECR pushes of the service's image tag, and the
Lambda in lambda/redeploy/ that forces a new deployment of the service, with its own log group,
a role limited to that one service, and a dead-letter queue for events that still fail.

Inputs: ClusterName (cluster), ServiceName and ServiceArn (service), the root Parameter ImageTag.
Outputs: the constants below.
"""

from __future__ import annotations

from pathlib import Path

from awacs import ecs, logs, sqs
from awacs.aws import Allow, Condition, ArnEquals, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Ref, Sub, Template
from troposphere.awslambda import Code, DeadLetterConfig as LambdaDeadLetter, Environment, Function, LoggingConfig, Permission
from troposphere.events import DeadLetterConfig, RetryPolicy, Rule, Target
from troposphere.iam import Policy, Role
from troposphere.logs import LogGroup
from troposphere.sqs import Queue, QueuePolicy

from enrollcfn.config import Config
from enrollcfn.errors import CompileError
from templates._helpers import output, param, scanner_skips, service_role_trust
from templates.bootstrap import product_role
from templates.cluster import CLUSTER_NAME
from templates.service import IMAGE_TAG, SERVICE_ARN, SERVICE_NAME

REDEPLOY_FUNCTION_NAME = "RedeployFunctionName"
REDEPLOY_DEAD_LETTER_QUEUE_ARN = "RedeployDeadLetterQueueArn"

SOURCE = Path(__file__).resolve().parents[1] / "lambda" / "redeploy" / "index.py"
RUNTIME = "python3.13"
# CloudFormation documented 4096 characters for Code.ZipFile until 2022 and has since raised it;
# keeping to the old bound keeps the function small enough to review in the template itself.
INLINE_LIMIT = 4096


def inline_code(source: str) -> Code:
    """The function's code inline in the template, or CompileError when it no longer fits.

    Inline keeps build/ templates-only: the Service Catalog product and the deploy need no zip
    in a bucket before the stack exists, and the reviewed source is the deployed source, byte for
    byte (CloudFormation writes it to index.py and zips it, so the hash follows the source). Past
    the limit the source must be packaged instead.
    """
    if len(source) > INLINE_LIMIT:
        raise CompileError("redeploy", f"{SOURCE.name} has {len(source)} characters; Code.ZipFile allows {INLINE_LIMIT}: shorten it or package it as a zip")
    return Code(ZipFile=source)


def build(cfg: Config) -> Template:
    """The redeploy template for `cfg`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: redeploy {cfg.service.name} when its image tag is pushed to ECR")
    t.set_version()
    cluster = param(t, CLUSTER_NAME, "String", "ECS cluster of the service")
    service = param(t, SERVICE_NAME, "String", "ECS service to redeploy")
    service_arn = param(t, SERVICE_ARN, "String", "ARN of that service, the only resource the function may change")
    tag = param(t, IMAGE_TAG, "String", "Image tag whose pushes trigger a redeploy")

    queue = t.add_resource(
        # Holds events for 14 days (the maximum) so a failed redeploy can be inspected and replayed.
        Queue(
            "DeadLetterQueue",
            SqsManagedSseEnabled=True,
            MessageRetentionPeriod=1_209_600,
            Metadata=scanner_skips(
                checkov={"CKV_AWS_27": "Encrypted with SQS-managed keys (SSE-SQS); EventBridge cannot write to a queue under the AWS-managed KMS key"}
            ),
        )
    )
    log_group = t.add_resource(
        LogGroup(
            "FunctionLogGroup",
            RetentionInDays=cfg.logs.retention_days,  # fix: the seed's Lambda log group never expired
            Metadata=scanner_skips(checkov={"CKV_AWS_158": "Encrypted with the CloudWatch Logs service key; the lines hold no secrets"}),
        )
    )
    role = t.add_resource(_role(cfg, log_group, queue, service_arn))
    function = t.add_resource(_function(cfg, role, log_group, queue, cluster, service, tag))
    rule = t.add_resource(_rule(cfg, function, queue, tag))
    t.add_resource(
        Permission(
            "InvokePermission",
            Action="lambda:InvokeFunction",
            FunctionName=GetAtt(function, "Arn"),
            Principal="events.amazonaws.com",
            SourceArn=GetAtt(rule, "Arn"),  # only this rule may invoke it (Lambda.1)
        )
    )
    t.add_resource(_queue_policy(queue, rule))
    output(t, REDEPLOY_FUNCTION_NAME, Ref(function), "Lambda that forces a new deployment on image push")
    output(t, REDEPLOY_DEAD_LETTER_QUEUE_ARN, GetAtt(queue, "Arn"), "Queue of push events whose redeploy failed after retries")
    return t


def _role(cfg: Config, log_group: LogGroup, queue: Queue, service_arn) -> Role:
    policy = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            # fix: the seed allowed ecs:UpdateService and DescribeServices on every service.
            Statement(Effect=Allow, Action=[ecs.UpdateService, ecs.DescribeServices], Resource=[Ref(service_arn)]),
            Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents], Resource=[Sub("${FunctionLogGroup.Arn}")]),
            Statement(Effect=Allow, Action=[sqs.SendMessage], Resource=[GetAtt(queue, "Arn")]),
        ],
    )
    return Role(
        "FunctionRole",
        AssumeRolePolicyDocument=service_role_trust("lambda.amazonaws.com"),
        Policies=[Policy(PolicyName="redeploy-one-service", PolicyDocument=policy)],
        **product_role(cfg),
    )


def _function(cfg: Config, role: Role, log_group: LogGroup, queue: Queue, cluster, service, tag) -> Function:
    return Function(
        "Function",
        Description=f"Force a new deployment of {cfg.service.name} when {cfg.registry.repository_name} is pushed",
        Runtime=RUNTIME,  # fix: the seed's python3.11
        Handler="index.handler",
        Code=inline_code(SOURCE.read_text(encoding="utf-8")),
        Role=GetAtt(role, "Arn"),
        Timeout=30,  # fix: the seed's default 3 s is shorter than a slow UpdateService call
        MemorySize=128,
        # One at a time: two pushes in quick succession must not race each other's deployments.
        ReservedConcurrentExecutions=1,
        # Lambda retries asynchronous invocations twice, then parks the event here.
        DeadLetterConfig=LambdaDeadLetter(TargetArn=GetAtt(queue, "Arn")),
        LoggingConfig=LoggingConfig(LogGroup=Ref(log_group)),
        Environment=Environment(
            Variables={"CLUSTER_NAME": Ref(cluster), "SERVICE_NAME": Ref(service), "REPOSITORY_NAME": cfg.registry.repository_name, "IMAGE_TAG": Ref(tag)}
        ),
        Metadata=scanner_skips(
            checkov={
                "CKV_AWS_117": "Calls only the ECS API; a VPC would add NAT or endpoint dependencies for no isolation gain",
                "CKV_AWS_173": "The environment holds only cluster, service, repository and tag names, no secrets",
                "CKV_AWS_272": "The code is inline in the reviewed template; there is no package to sign",
            }
        ),
    )


def _rule(cfg: Config, function: Function, queue: Queue, tag) -> Rule:
    pattern = {
        "source": ["aws.ecr"],
        "detail-type": ["ECR Image Action"],
        # fix: the seed matched failed pushes too (no result filter).
        "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"], "repository-name": [cfg.registry.repository_name], "image-tag": [Ref(tag)]},
    }
    return Rule(
        "PushRule",
        Description=f"Successful pushes of {cfg.registry.repository_name} with the service's image tag",
        EventPattern=pattern,
        State="ENABLED",
        Targets=[
            Target(
                Id="Redeploy",
                Arn=GetAtt(function, "Arn"),
                RetryPolicy=RetryPolicy(MaximumRetryAttempts=8, MaximumEventAgeInSeconds=3600),
                DeadLetterConfig=DeadLetterConfig(Arn=GetAtt(queue, "Arn")),
            )
        ],
    )


def _queue_policy(queue: Queue, rule: Rule) -> QueuePolicy:
    return QueuePolicy(
        "DeadLetterQueuePolicy",
        Queues=[Ref(queue)],
        PolicyDocument=PolicyDocument(
            Version="2012-10-17",
            Statement=[
                Statement(
                    Effect=Allow,
                    Principal=Principal("Service", "events.amazonaws.com"),
                    Action=[sqs.SendMessage],
                    Resource=[GetAtt(queue, "Arn")],
                    Condition=Condition(ArnEquals({"aws:SourceArn": GetAtt(rule, "Arn")})),
                )
            ],
        ),
    )
