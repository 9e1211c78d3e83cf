"""Redeploy stack: an EventBridge rule on successful ECR pushes of tags that start with
`registry.redeploy_tag_prefix`, and the Lambda in lambda/redeploy/ that deploys the pushed digest
(a new task-definition revision, then the service pointed at it), with its own log group, a role
limited to that one service and its two roles, and a dead-letter queue for events that still fail.

Inputs: ClusterName (cluster); ServiceName, ServiceArn, ExecutionRoleArn, TaskRoleArn (service).
Outputs: the constants below.
"""

from __future__ import annotations

from pathlib import Path

from awacs import ecs, iam, logs, sqs
from awacs.aws import Allow, Condition, ArnEquals, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, Template
from troposphere.awslambda import Code, DeadLetterConfig as LambdaDeadLetter, Environment, Function, LoggingConfig, Permission
from troposphere.events import DeadLetterConfig, RetryPolicy, Rule, Target
from troposphere.iam import Policy, Role
from troposphere.logs import LogGroup
from troposphere.sqs import Queue, QueuePolicy

from enrollcfn.config import Config
from templates._helpers import inline_code as _inline_code, output, param, scanner_skips, service_role_trust
from templates.bootstrap import product_role
from templates.cluster import CLUSTER_NAME
from templates.database import DATABASE_SECRET_ARN
from templates.service import EXECUTION_ROLE_ARN, SERVICE_ARN, SERVICE_NAME, TASK_ROLE_ARN, repository_uri

REDEPLOY_FUNCTION_NAME = "RedeployFunctionName"
REDEPLOY_DEAD_LETTER_QUEUE_ARN = "RedeployDeadLetterQueueArn"

SOURCE = Path(__file__).resolve().parents[1] / "lambda" / "redeploy" / "index.py"
RUNTIME = "python3.13"


def inline_code(source: str) -> Code:
    """The redeploy function's code inline (see `_helpers.inline_code`)."""
    return _inline_code("redeploy", SOURCE.name, source)


def build(cfg: Config) -> Template:
    """The redeploy template for `cfg`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: deploy {cfg.service.name} by digest when a {cfg.registry.redeploy_tag_prefix}* tag is pushed to ECR")
    t.set_version()
    cluster = param(t, CLUSTER_NAME, "String", "ECS cluster of the service")
    service = param(t, SERVICE_NAME, "String", "ECS service to redeploy")
    service_arn = param(t, SERVICE_ARN, "String", "ARN of that service, the only resource the function may change")
    roles = [param(t, name, "String", f"{what} role of the service's tasks, passed to each new revision") for name, what in ((EXECUTION_ROLE_ARN, "Execution"), (TASK_ROLE_ARN, "Task"))]
    secret = param(t, DATABASE_SECRET_ARN, "String", "RDS-managed database secret; its rotation restarts the service's tasks")

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
    role = t.add_resource(_role(cfg, log_group, queue, service_arn, roles))
    function = t.add_resource(_function(cfg, role, log_group, queue, cluster, service, secret))
    rules = [t.add_resource(_push_rule(cfg, function, queue)), t.add_resource(_rotation_rule(function, queue, secret))]
    for rule, title in zip(rules, ("InvokePermission", "RotationInvokePermission")):
        t.add_resource(
            Permission(
                title,
                Action="lambda:InvokeFunction",
                FunctionName=GetAtt(function, "Arn"),
                Principal="events.amazonaws.com",
                SourceArn=GetAtt(rule, "Arn"),  # only this rule may invoke it (Lambda.1)
            )
        )
    t.add_resource(_queue_policy(queue, rules))
    output(t, REDEPLOY_FUNCTION_NAME, Ref(function), "Lambda that deploys a pushed image by digest")
    output(t, REDEPLOY_DEAD_LETTER_QUEUE_ARN, GetAtt(queue, "Arn"), "Queue of push events whose redeploy failed after retries")
    return t


def _role(cfg: Config, log_group: LogGroup, queue: Queue, service_arn, roles: list) -> Role:
    policy = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            # fix: the seed allowed ecs:UpdateService and DescribeServices on every service.
            Statement(Effect=Allow, Action=[ecs.UpdateService, ecs.DescribeServices], Resource=[Ref(service_arn)]),
            # Task-definition reads and registrations have no resource-level permissions in IAM.
            Statement(Effect=Allow, Action=[ecs.DescribeTaskDefinition, ecs.RegisterTaskDefinition], Resource=["*"]),
            # A new revision names the service's two roles, and only ECS tasks may receive them.
            Statement(
                Effect=Allow,
                Action=[iam.PassRole],
                Resource=[Ref(r) for r in roles],
                Condition=Condition(StringEquals({"iam:PassedToService": "ecs-tasks.amazonaws.com"})),
            ),
            Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents], Resource=[Sub("${FunctionLogGroup.Arn}")]),
            Statement(Effect=Allow, Action=[sqs.SendMessage], Resource=[GetAtt(queue, "Arn")]),
        ],
    )
    return Role(
        "FunctionRole",
        AssumeRolePolicyDocument=service_role_trust("lambda.amazonaws.com"),
        Policies=[Policy(PolicyName="redeploy-one-service", PolicyDocument=policy)],
        Metadata=scanner_skips(checkov={"CKV_AWS_111": "ecs:RegisterTaskDefinition has no resource-level permissions; the roles it may pass are the service's two"}),
        **product_role(cfg),
    )


def _function(cfg: Config, role: Role, log_group: LogGroup, queue: Queue, cluster, service, secret) -> Function:
    # Lambda keeps 100 of an account's concurrency unreserved ("You can reserve up to the
    # Unreserved account concurrency value ..., minus 100", Lambda developer guide), and new
    # accounts may start with a limit of 10, where any reservation is refused and the stack fails.
    # So none by default; the handler is safe without it (see lambda/redeploy/index.py).
    reserved = cfg.registry.redeploy_reserved_concurrency
    extra = {} if reserved is None else {"ReservedConcurrentExecutions": reserved}
    skips = {
        "CKV_AWS_117": "Calls only the ECS API; a VPC would add NAT or endpoint dependencies for no isolation gain",
        "CKV_AWS_173": "The environment holds names, a tag prefix and the database secret's ARN (not its value), no secrets",
        "CKV_AWS_272": "The code is inline in the reviewed template; there is no package to sign",
    }
    if reserved is None:
        skips["CKV_AWS_115"] = "registry.redeploy_reserved_concurrency is unset: a reservation fails in accounts whose concurrency limit is under 101"
    return Function(
        "Function",
        Description=f"Deploy {cfg.registry.repository_name} pushes tagged {cfg.registry.redeploy_tag_prefix}* to {cfg.service.name} by digest",
        Runtime=RUNTIME,  # fix: the seed's python3.11
        Handler="index.handler",
        Code=inline_code(SOURCE.read_text(encoding="utf-8")),
        Role=GetAtt(role, "Arn"),
        Timeout=30,  # fix: the seed's default 3 s is shorter than a slow UpdateService call
        MemorySize=128,
        # Lambda retries asynchronous invocations twice, then parks the event here.
        DeadLetterConfig=LambdaDeadLetter(TargetArn=GetAtt(queue, "Arn")),
        LoggingConfig=LoggingConfig(LogGroup=Ref(log_group)),
        Environment=Environment(
            Variables={
                "CLUSTER_NAME": Ref(cluster),
                "SERVICE_NAME": Ref(service),
                "REPOSITORY_NAME": cfg.registry.repository_name,
                "REPOSITORY_URI": repository_uri(cfg),
                "CONTAINER_NAME": cfg.registry.repository_name,  # the container is named after the repository
                "TAG_PREFIX": cfg.registry.redeploy_tag_prefix,
                "SECRET_ARN": Ref(secret),
            }
        ),
        Metadata=scanner_skips(checkov=skips),
        **extra,
    )


def _target(function: Function, queue: Queue) -> Target:
    return Target(
        Id="Redeploy",
        Arn=GetAtt(function, "Arn"),
        RetryPolicy=RetryPolicy(MaximumRetryAttempts=8, MaximumEventAgeInSeconds=3600),
        DeadLetterConfig=DeadLetterConfig(Arn=GetAtt(queue, "Arn")),
    )


def _rotation_rule(function: Function, queue: Queue, secret) -> Rule:
    """RDS rotates its managed master password every 7 days; running tasks keep the old one (ECS
    reads a secret when a task starts), so each rotation restarts them. Matched on Secrets
    Manager's own `Secret Label Updated` event, sent when a staging label other than AWSPENDING
    and AWSPREVIOUS moves to a new version, with the secret's ARN in `resources` and the label in
    `detail.labelUpdated` ("Secret event notifications",
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/secret-event-notifications.html;
    "Secret Label Updated event",
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/event-detail-secret-label-updated-secretsmanager.html):
    AWSCURRENT moving is the rotation taking effect. Not the CloudTrail RotationSucceeded
    service event, whose secret field differs between rotation kinds and which is delivered on a
    best-effort basis ("AWS service events delivered via AWS CloudTrail", EventBridge user guide)."""
    pattern = {
        "source": ["aws.secretsmanager"],
        "detail-type": ["Secret Label Updated"],
        "resources": [Ref(secret)],
        "detail": {"labelUpdated": ["AWSCURRENT"]},
    }
    return Rule("RotationRule", Description="The database secret's AWSCURRENT label moved to a new version (a rotation)", EventPattern=pattern,
                State="ENABLED", Targets=[_target(function, queue)])


def _push_rule(cfg: Config, function: Function, queue: Queue) -> Rule:
    prefix = cfg.registry.redeploy_tag_prefix
    pattern = {
        "source": ["aws.ecr"],
        "detail-type": ["ECR Image Action"],
        # fix: the seed matched failed pushes too (no result filter) and one moving tag.
        "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"], "repository-name": [cfg.registry.repository_name], "image-tag": [{"prefix": prefix}]},
    }
    return Rule(
        "PushRule",
        Description=f"Successful pushes of {cfg.registry.repository_name} with a {prefix}* tag",
        EventPattern=pattern,
        State="ENABLED",
        Targets=[_target(function, queue)],
    )


def _queue_policy(queue: Queue, rules: list[Rule]) -> QueuePolicy:
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
                    Condition=Condition(ArnEquals({"aws:SourceArn": [GetAtt(rule, "Arn") for rule in rules]})),
                )
            ],
        ),
    )
