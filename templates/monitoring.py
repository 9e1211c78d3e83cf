"""Monitoring stack: the alarms the seed promised but never built, an encrypted SNS topic they
notify (with an email subscription when monitoring.alarm_email is set, and an existing topic for
chat or paging tools when monitoring.alarm_topic_arn is), and a monthly cost budget of this
environment's spend that warns at 80 % and 100 % of the estimate (the seed's $135 / $169 practice).

Inputs: outputs of database, load_balancer, cluster, service and redeploy, and the root Parameter
MonthlyBudgetUsd (its default is the compiler's estimate, so a person launching the product can
set another amount). Outputs: AlarmTopicArn.
"""

from __future__ import annotations

from typing import NamedTuple

from awacs import kms, sns
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import AccountId, Ref, Select, Split, Template
from troposphere.budgets import Budget, BudgetData, Notification, NotificationWithSubscribers, Spend, Subscriber
from troposphere.cloudwatch import Alarm, MetricDimension
from troposphere.kms import Key
from troposphere.sns import SubscriptionResource, Topic, TopicPolicy

from enrollcfn.config import Config
from enrollcfn.templates._helpers import grants_for_aws_services_only, name_tags, output, param
from enrollcfn.templates.cluster import CLUSTER_NAME
from enrollcfn.templates.database import DATABASE_INSTANCE_ID
from enrollcfn.templates.load_balancer import LOAD_BALANCER_FULL_NAME, TARGET_GROUP_FULL_NAME
from enrollcfn.templates.redeploy import REDEPLOY_DEAD_LETTER_QUEUE_ARN, REDEPLOY_FUNCTION_NAME
from enrollcfn.templates.service import SERVICE_NAME

ALARM_TOPIC_ARN = "AlarmTopicArn"
MONTHLY_BUDGET = "MonthlyBudgetUsd"  # a root Parameter
# Resource types a config can leave out, with the setting that does it: CloudFormation offers
# AWS::Budgets::Budget only in some regions ("Unrecognized resource types" in eu-central-2,
# cloudformation-coverage-roadmap #2177), though Budgets itself is global.
OPTIONAL_TYPES = {Budget.resource_type: "monitoring.budget: false"}

# The stack tag `deploy` puts on every stack it creates (enrollcfn.pipeline.stack_tags), valued
# `environment`; CloudFormation copies stack tags to every resource that takes tags.
ENVIRONMENT_TAG = "environment"

_INPUTS = {
    LOAD_BALANCER_FULL_NAME: "ALB full name (metric dimension LoadBalancer)",
    TARGET_GROUP_FULL_NAME: "Target group full name (metric dimension TargetGroup)",
    CLUSTER_NAME: "ECS cluster name",
    SERVICE_NAME: "ECS service name",
    DATABASE_INSTANCE_ID: "RDS instance identifier",
    REDEPLOY_FUNCTION_NAME: "Redeploy Lambda name",
    REDEPLOY_DEAD_LETTER_QUEUE_ARN: "Redeploy dead-letter queue ARN",
}
_PUBLISHERS = ("cloudwatch.amazonaws.com", "budgets.amazonaws.com")
_GIB = 1024**3


def build(cfg: Config) -> Template:
    """The monitoring template for `cfg`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: alarms, their SNS topic and the monthly cost budget")
    t.set_version()
    p = {name: param(t, name, "String", description) for name, description in _INPUTS.items()}
    key = t.add_resource(_key(cfg))
    topic = t.add_resource(Topic("AlarmTopic", KmsMasterKeyId=Ref(key)))
    t.add_resource(_topic_policy(topic))
    if cfg.monitoring.alarm_email:
        t.add_resource(SubscriptionResource("AlarmEmail", TopicArn=Ref(topic), Protocol="email", Endpoint=cfg.monitoring.alarm_email))
    # An alarm may have up to 5 actions per state (PutMetricAlarm AlarmActions: at most 5).
    actions = [Ref(topic), *([cfg.monitoring.alarm_topic_arn] if cfg.monitoring.alarm_topic_arn else [])]
    for alarm in _alarms(cfg, p):
        t.add_resource(Alarm(alarm.pop("title"), AlarmActions=actions, OKActions=actions, **alarm))
    if cfg.monitoring.budget:  # without it the root has no MonthlyBudgetUsd either (no child takes it)
        budget = param(t, MONTHLY_BUDGET, "Number", "Monthly cost budget in USD; alerts at 80 % and 100 %", MinValue=1)
        t.add_resource(_budget(cfg, Ref(budget), topic))
    output(t, ALARM_TOPIC_ARN, Ref(topic), "SNS topic the alarms and the budget notify")
    return t


def _key(cfg: Config) -> Key:
    # The AWS-managed SNS key cannot be used: its policy does not let CloudWatch or Budgets publish.
    statements = [
        Statement(Sid="Account", Effect=Allow, Principal=Principal("AWS", AccountId), Action=[kms.Action("*")], Resource=["*"]),
        Statement(
            Sid="Publishers",
            Effect=Allow,
            Principal=Principal("Service", list(_PUBLISHERS)),
            Action=[kms.Decrypt, kms.Action("GenerateDataKey*")],
            Resource=["*"],  # in a key policy, "*" is this key
            Condition=Condition(StringEquals({"aws:SourceAccount": AccountId})),
        ),
        grants_for_aws_services_only(),
    ]
    # Tagged: the launch role may change only keys named ours (a key is known only by its id).
    return Key("AlarmTopicKey", Description="Encrypts the alarm topic", EnableKeyRotation=True, Tags=name_tags(cfg, "alarm-topic-key"),
               KeyPolicy=PolicyDocument(Version="2012-10-17", Statement=statements))


def _topic_policy(topic: Topic) -> TopicPolicy:
    return TopicPolicy(
        "AlarmTopicPolicy",
        Topics=[Ref(topic)],
        PolicyDocument=PolicyDocument(
            Version="2012-10-17",
            Statement=[
                Statement(
                    Effect=Allow,
                    Principal=Principal("Service", list(_PUBLISHERS)),
                    Action=[sns.Publish],
                    Resource=[Ref(topic)],
                    Condition=Condition(StringEquals({"aws:SourceAccount": AccountId})),
                )
            ],
        ),
    )


class _Source(NamedTuple):
    """What an alarm watches: a metric, its dimensions and the statistic (or a percentile such as p95)."""

    namespace: str
    metric: str
    dims: dict
    stat: str


def _metric(title: str, description: str, src: _Source, op: str, threshold, period=300, periods=1, missing="notBreaching") -> dict:
    """Alarm properties."""
    which = {"ExtendedStatistic": src.stat} if src.stat.startswith("p") else {"Statistic": src.stat}
    return dict(
        title=title, AlarmDescription=description, Namespace=src.namespace, MetricName=src.metric,
        Dimensions=[MetricDimension(Name=k, Value=v) for k, v in src.dims.items()], ComparisonOperator=op,
        Threshold=float(threshold), Period=period, EvaluationPeriods=periods, TreatMissingData=missing, **which,
    )  # fmt: skip


def _alarms(cfg: Config, p: dict) -> list[dict]:
    alb = {"LoadBalancer": Ref(p[LOAD_BALANCER_FULL_NAME])}
    tg = {**alb, "TargetGroup": Ref(p[TARGET_GROUP_FULL_NAME])}
    svc = {"ClusterName": Ref(p[CLUSTER_NAME]), "ServiceName": Ref(p[SERVICE_NAME])}
    db = {"DBInstanceIdentifier": Ref(p[DATABASE_INSTANCE_ID])}
    gt, lt = "GreaterThanThreshold", "LessThanThreshold"
    elb, ecs, rds = "AWS/ApplicationELB", "AWS/ECS", "AWS/RDS"
    alarms = [
        _metric("Alb5xxAlarm", "The load balancer returned more than 10 5xx responses in 5 minutes", _Source(elb, "HTTPCode_ELB_5XX_Count", alb, "Sum"), gt, 10),
        _metric("Target5xxAlarm", "The application returned more than 10 5xx responses in 5 minutes", _Source(elb, "HTTPCode_Target_5XX_Count", tg, "Sum"), gt, 10),
        _metric("UnhealthyHostsAlarm", "A task failed its health checks for 2 minutes", _Source(elb, "UnHealthyHostCount", tg, "Maximum"), gt, 0, 60, 2),
        _metric("ResponseTimeAlarm", "p95 response time above 2 s for 15 minutes", _Source(elb, "TargetResponseTime", tg, "p95"), gt, 2, 300, 3),
        # Scaling targets are 70 % CPU and 80 % memory: staying above 90 % means scaling is at its maximum.
        _metric("ServiceCpuAlarm", "Service CPU above 90 % for 15 minutes", _Source(ecs, "CPUUtilization", svc, "Average"), gt, 90, 300, 3),
        _metric("ServiceMemoryAlarm", "Service memory above 90 % for 15 minutes", _Source(ecs, "MemoryUtilization", svc, "Average"), gt, 90, 300, 3),
        _metric("DatabaseCpuAlarm", "Database CPU above 80 % for 15 minutes", _Source(rds, "CPUUtilization", db, "Average"), gt, 80, 300, 3),
        _metric("DatabaseStorageAlarm", "Less than 10 % of the allocated storage is free", _Source(rds, "FreeStorageSpace", db, "Minimum"), lt,
                cfg.database.allocated_storage_gb * _GIB // 10),  # fmt: skip
        _metric("DatabaseMemoryAlarm", "Less than 64 MiB of freeable memory for 15 minutes", _Source(rds, "FreeableMemory", db, "Average"), lt, 64 * 1024**2, 300, 3),
        # db.t3.micro allows about 66 connections (memory / 12.5 MiB); warn before new ones fail.
        _metric("DatabaseConnectionsAlarm", "More than 50 database connections for 10 minutes", _Source(rds, "DatabaseConnections", db, "Maximum"), gt, 50, 300, 2),
        _metric("RedeployErrorsAlarm", "The redeploy Lambda failed", _Source("AWS/Lambda", "Errors", {"FunctionName": Ref(p[REDEPLOY_FUNCTION_NAME])}, "Sum"), gt, 0),
        _metric("RedeployDeadLettersAlarm", "A push event could not be redeployed and was dead-lettered",
                _Source("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": Select(5, Split(":", Ref(p[REDEPLOY_DEAD_LETTER_QUEUE_ARN])))},
                        "Maximum"), gt, 0),  # fmt: skip
    ]
    if cfg.cluster.container_insights:  # RunningTaskCount is a Container Insights metric
        alarms.append(
            _metric("RunningTasksAlarm", f"Fewer than {cfg.service.min_tasks} running tasks for 5 minutes",
                    _Source("ECS/ContainerInsights", "RunningTaskCount", svc, "Minimum"), lt, cfg.service.min_tasks, 60, 5, "breaching")  # fmt: skip
        )
    return alarms


def _budget(cfg: Config, amount, topic: Topic) -> Budget:
    notify = [
        NotificationWithSubscribers(
            Notification=Notification(NotificationType="ACTUAL", ComparisonOperator="GREATER_THAN", Threshold=float(pct), ThresholdType="PERCENTAGE"),
            Subscribers=_subscribers(cfg, topic),
        )
        for pct in (80, 100)
    ]
    # This environment's spend, not the account's: without a filter every environment's budget
    # alarms on the total. "user:" marks a user-defined cost allocation tag, and Budgets sees it
    # only once it is activated in Billing (docs/costs.md), which CloudFormation cannot do.
    # CostFilters, though the Budgets API model marks it deprecated (2025-04-18) for
    # FilterExpression, which must come with Metrics instead of CostTypes: TagKeyValue's
    # `user:<key>$<value>` form is documented, FilterExpression's tag key only as "the key".
    tag = f"user:{ENVIRONMENT_TAG}${cfg.environment}"
    data = BudgetData(BudgetType="COST", TimeUnit="MONTHLY", BudgetLimit=Spend(Amount=amount, Unit="USD"), CostFilters={"TagKeyValue": [tag]})
    return Budget("MonthlyBudget", Budget=data, NotificationsWithSubscribers=notify)


def _subscribers(cfg: Config, topic: Topic) -> list[Subscriber]:
    """A budget notification takes one SNS subscriber and up to 10 e-mail ones (Budgets API,
    NotificationWithSubscribers): the configured topic when there is one, with the alarm address
    beside it (the alarm topic's e-mail subscription would not see the budget then); else the
    alarm topic."""
    m = cfg.monitoring
    if not m.alarm_topic_arn:
        return [Subscriber(SubscriptionType="SNS", Address=Ref(topic))]
    return [Subscriber(SubscriptionType="SNS", Address=m.alarm_topic_arn)] + (
        [Subscriber(SubscriptionType="EMAIL", Address=m.alarm_email)] if m.alarm_email else []
    )
