"""Redeploy stack: an EventBridge rule on successful ECR pushes of tags that start with
`registry.redeploy_tag_prefix`, and the Lambda in lambda/redeploy/ that releases the pushed digest
through CloudFormation (an update of the root stack with its own template, ImageDigest and
ImageTag changed), with its own log group, a role limited to what such an update changes, and a
dead-letter queue for events that still fail.

Inputs: RootStackId (root); ServiceArn, the service's roles and its one-off task function
(service). Outputs: the constants below.
"""

from __future__ import annotations


from awacs import cloudformation, ecs, iam, logs, s3, sqs
from awacs import awslambda
from awacs.aws import Allow, Condition, ArnEquals, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Select, Split, Sub, Template
from troposphere.awslambda import Code, DeadLetterConfig as LambdaDeadLetter, Environment, Function, LoggingConfig, Permission
from troposphere.events import DeadLetterConfig, RetryPolicy, Rule, Target
from troposphere.iam import Policy, Role
from troposphere.logs import LogGroup
from troposphere.sqs import Queue, QueuePolicy

from enrollcfn.config import Config
from enrollcfn.templates import _control_tower
from enrollcfn.templates._custom_resources import LAMBDA_DIR
from enrollcfn.templates._helpers import inline_code as _inline_code, output, param, scanner_skips, service_role_trust
from enrollcfn.templates.bootstrap import product_role
from enrollcfn.templates.service import (
    DATABASE_USER_EXECUTION_ROLE_ARN, EXECUTION_ROLE_ARN, IMAGE_DIGEST, IMAGE_TAG, ONE_OFF_TASK_FUNCTION_ARN, SERVICE_ARN, TASK_ROLE_ARN,
    TRAFFIC_ROLE_ARN,
)

REDEPLOY_FUNCTION_NAME = "RedeployFunctionName"
REDEPLOY_DEAD_LETTER_QUEUE_ARN = "RedeployDeadLetterQueueArn"
ROOT_STACK_ID = "RootStackId"  # given by the root stack itself (AWS::StackId)

SOURCE = LAMBDA_DIR / "redeploy" / "index.py"
RUNTIME = "python3.13"


def inline_code(source: str) -> Code:
    """The redeploy function's code inline (see `_helpers.inline_code`)."""
    return _inline_code("redeploy", SOURCE.name, source)


def build(cfg: Config) -> Template:
    """The redeploy template for `cfg`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: deploy {cfg.service.name} by digest when a {cfg.registry.redeploy_tag_prefix}* tag is pushed to ECR")
    t.set_version()
    root = param(t, ROOT_STACK_ID, "String", "The root stack, which a release updates")
    service_arn = param(t, SERVICE_ARN, "String", "ARN of the service, the only service a release changes")
    roles = [param(t, name, "String", f"{what}, passed to the release's task definitions")
             for name, what in ((EXECUTION_ROLE_ARN, "Execution role of the service's tasks"), (TASK_ROLE_ARN, "Task role of the service's tasks"),
                                (DATABASE_USER_EXECUTION_ROLE_ARN, "Execution role of the database-user task"))]
    one_off = param(t, ONE_OFF_TASK_FUNCTION_ARN, "String", "The function behind the release's one-off tasks (database user, migrations)")
    traffic = None
    if cfg.service.deployment.progressive(cfg.production):
        traffic = param(t, TRAFFIC_ROLE_ARN, "String", "Role ECS moves a progressive release's traffic with, passed with the service")

    queue = t.add_resource(
        # Holds events for 14 days (the maximum) so a failed redeploy can be inspected and replayed.
        Queue(
            "DeadLetterQueue",
            SqsManagedSseEnabled=True,
            MessageRetentionPeriod=1_209_600,
            # It is a dead-letter queue (Control Tower CT.SQS.PR.1 exempts only queues that say so);
            # allowAll is SQS's default when the policy is absent, stated.
            RedriveAllowPolicy={"redrivePermission": "allowAll"},
            Metadata=scanner_skips(
                checkov={"CKV_AWS_27": "Encrypted with SQS-managed keys (SSE-SQS); EventBridge cannot write to a queue under the AWS-managed KMS key"}
            ),
        )
    )
    log_group = t.add_resource(
        LogGroup(
            "FunctionLogGroup",
            RetentionInDays=cfg.logs.retention_days,  # fix: the seed's Lambda log group never expired
            **_control_tower.log_encryption(t, cfg),
            Metadata=scanner_skips(checkov={"CKV_AWS_158": "Encrypted with the CloudWatch Logs service key; the lines hold no secrets"}),
        )
    )
    role = t.add_resource(_role(cfg, log_group, queue, root, service_arn, roles, one_off, traffic))
    function = t.add_resource(_function(cfg, role, log_group, queue, root, _control_tower.function_vpc(t, cfg)))
    rules = [t.add_resource(_push_rule(cfg, function, queue))]
    for rule, title in zip(rules, ("InvokePermission",)):
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


def _role(cfg: Config, log_group: LogGroup, queue: Queue, root, service_arn, roles: list, one_off, traffic) -> Role:
    """What CloudFormation does, as this role, when a release changes ImageDigest and ImageTag:
    update the root and its nested stacks (the handlers of AWS::CloudFormation::Stack), replace
    the task definitions (AWS::ECS::TaskDefinition create, read, delete), update the service
    (AWS::ECS::Service update, read), invoke the one-off task function (the custom resources), and
    read the nested templates from the artifact bucket. Nothing else of the product."""
    region = "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}"
    stacks = [Ref(root), Sub(f"{region}:stack/${{RootName}}-*/*", RootName=Select(1, Split("/", Ref(root))))]
    policy = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(Effect=Allow, Resource=stacks, Action=[
                cloudformation.DescribeStacks, cloudformation.UpdateStack, cloudformation.GetTemplate, cloudformation.GetStackPolicy,
                cloudformation.SetStackPolicy, cloudformation.UpdateTerminationProtection,
            ]),
            # fix: the seed allowed ecs:UpdateService and DescribeServices on every service.
            Statement(Effect=Allow, Resource=[Ref(service_arn)], Action=[
                ecs.UpdateService, ecs.DescribeServices, ecs.DescribeServiceDeployments, ecs.ListServiceDeployments, ecs.StopServiceDeployment,
                ecs.ListTagsForResource, ecs.TagResource, ecs.UntagResource,
            ]),
            # Task-definition registrations and reads have no resource-level permissions in IAM.
            Statement(Effect=Allow, Action=[ecs.RegisterTaskDefinition, ecs.DescribeTaskDefinition, ecs.DeregisterTaskDefinition], Resource=["*"]),
            Statement(Effect=Allow, Action=[ecs.TagResource], Resource=[Sub(f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:task-definition/{cfg.service.name}*")]),
            # A new revision names the service's roles, and only ECS tasks may receive them.
            Statement(Effect=Allow, Action=[iam.PassRole], Resource=[Ref(r) for r in roles],
                      Condition=Condition(StringEquals({"iam:PassedToService": "ecs-tasks.amazonaws.com"}))),
            *([Statement(Effect=Allow, Action=[iam.PassRole], Resource=[Ref(traffic)],
                         Condition=Condition(StringEquals({"iam:PassedToService": "ecs.amazonaws.com"})))] if traffic else []),
            Statement(Effect=Allow, Action=[iam.GetRole], Resource=[Ref(r) for r in (*roles, *([traffic] if traffic else []))]),
            Statement(Effect=Allow, Action=[awslambda.InvokeFunction], Resource=[Ref(one_off)]),
            # The nested stacks' TemplateURLs: the artifact bucket's templates/ prefix, in this account.
            Statement(Effect=Allow, Action=[s3.GetObject], Resource=[Sub("arn:${AWS::Partition}:s3:::*/templates/*")],
                      Condition=Condition(StringEquals({"s3:ResourceAccount": Ref("AWS::AccountId")}))),
            Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents], Resource=[Sub("${FunctionLogGroup.Arn}")]),
            Statement(Effect=Allow, Action=[sqs.SendMessage], Resource=[GetAtt(queue, "Arn")]),
            *_control_tower.function_vpc_statements(cfg),
        ],
    )
    return Role(
        "FunctionRole",
        AssumeRolePolicyDocument=service_role_trust("lambda.amazonaws.com"),
        Policies=[Policy(PolicyName="release-through-cloudformation", PolicyDocument=policy)],
        Metadata=scanner_skips(checkov={"CKV_AWS_111": "ecs:RegisterTaskDefinition and DeregisterTaskDefinition have no resource-level permissions; the roles it may pass are the service's"}),
        **product_role(cfg),
    )


def _function(cfg: Config, role: Role, log_group: LogGroup, queue: Queue, root, vpc: dict) -> Function:
    # Lambda keeps 100 of an account's concurrency unreserved ("You can reserve up to the
    # Unreserved account concurrency value ..., minus 100", Lambda developer guide), and new
    # accounts may start with a limit of 10, where any reservation is refused and the stack fails.
    # So none by default; the handler is safe without it (see lambda/redeploy/index.py).
    reserved = cfg.registry.redeploy_reserved_concurrency
    extra = {} if reserved is None else {"ReservedConcurrentExecutions": reserved}
    skips = {
        "CKV_AWS_117": "Calls only the CloudFormation API; a VPC would add NAT or endpoint dependencies for no isolation gain",
        "CKV_AWS_173": "The environment holds the root stack's id, a repository name and a tag prefix, no secrets",
        "CKV_AWS_272": "The code is inline in the reviewed template; there is no package to sign",
    }
    if reserved is None:
        skips["CKV_AWS_115"] = "registry.redeploy_reserved_concurrency is unset: a reservation fails in accounts whose concurrency limit is under 101"
    return Function(
        "Function",
        Description=f"Release {cfg.registry.repository_name} pushes tagged {cfg.registry.redeploy_tag_prefix}* through a CloudFormation update",
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
                "ROOT_STACK": Ref(root),
                "DIGEST_PARAMETER": IMAGE_DIGEST,  # the root Parameters a release sets
                "TAG_PARAMETER": IMAGE_TAG,
                "REPOSITORY_NAME": cfg.registry.repository_name,
                "TAG_PREFIX": cfg.registry.redeploy_tag_prefix,
            }
        ),
        Metadata=scanner_skips(checkov=skips),
        **vpc,  # compliance: control-tower: in the private subnets
        **extra,
    )


def _target(function: Function, queue: Queue) -> Target:
    return Target(
        Id="Redeploy",
        Arn=GetAtt(function, "Arn"),
        RetryPolicy=RetryPolicy(MaximumRetryAttempts=8, MaximumEventAgeInSeconds=3600),
        DeadLetterConfig=DeadLetterConfig(Arn=GetAtt(queue, "Arn")),
    )


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
