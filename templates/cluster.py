"""Cluster stack: the ECS cluster on FARGATE and FARGATE_SPOT with Container Insights, and the
application's log group.

Inputs: none. Outputs: the constants below.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Template
from troposphere.ecs import (
    CapacityProviderStrategyItem,
    Cluster,
    ClusterConfiguration,
    ClusterSetting,
    ExecuteCommandConfiguration,
    ExecuteCommandLogConfiguration,
)
from troposphere.logs import LogGroup

from enrollcfn.config import Config
from enrollcfn.templates import _control_tower
from enrollcfn.templates._helpers import output, scanner_skips

CLUSTER_NAME = "ClusterName"
CLUSTER_ARN = "ClusterArn"
APP_LOG_GROUP_NAME = "AppLogGroupName"
APP_LOG_GROUP_ARN = "AppLogGroupArn"


def app_log_group_name(cfg: Config) -> str:
    """`/ecs/<family>` (the seed's `/ecs/<repository>`): the task family is the service's name, so each environment has its own group."""
    return f"/ecs/{cfg.service.name}"


def build(cfg: Config) -> Template:
    """The cluster template for `cfg`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: ECS cluster {cfg.cluster.name} and the application log group")
    t.set_version()
    cluster = t.add_resource(
        Cluster(
            "Cluster",
            ClusterName=cfg.cluster.name,
            ClusterSettings=[ClusterSetting(Name="containerInsights", Value="enabled" if cfg.cluster.container_insights else "disabled")],
            CapacityProviders=["FARGATE", "FARGATE_SPOT"],
            # seed default strategy; the service states its own (FARGATE base 2 + SPOT weight 3).
            DefaultCapacityProviderStrategy=[CapacityProviderStrategyItem(CapacityProvider="FARGATE", Base=1, Weight=1)],
            **_exec_logging(cfg),
            **({} if cfg.cluster.container_insights else {"Metadata": scanner_skips(checkov={
                "CKV_AWS_65": "cluster.container_insights: false, chosen in the config (config/dev.yaml: its metrics are billed per metric)"})}),
        )
    )
    # The seed's second group, /ecs/<cluster>, was never written to (Container Insights uses its
    # own /aws/ecs/containerinsights group), so it is not created.
    logs = t.add_resource(
        LogGroup(
            "AppLogGroup",
            LogGroupName=app_log_group_name(cfg),
            RetentionInDays=cfg.logs.retention_days,
            **_control_tower.log_encryption(t, cfg),
            Metadata=scanner_skips(checkov={"CKV_AWS_158": "CloudWatch Logs encrypts the group at rest with its service key, as in the seed; a customer key would only add key-policy control, and secrets reach the app through ECS secrets, never its log lines"}),
        )
    )
    if cfg.service.exec_enabled:
        cluster.DependsOn = [logs.title]  # the session log group must exist before sessions write to it
    output(t, CLUSTER_NAME, Ref(cluster), "ECS cluster name")
    output(t, CLUSTER_ARN, GetAtt(cluster, "Arn"), "ECS cluster ARN")
    output(t, APP_LOG_GROUP_NAME, Ref(logs), "Log group the application container writes to")
    output(t, APP_LOG_GROUP_ARN, GetAtt(logs, "Arn"), "ARN of the application log group")
    return t


def _exec_logging(cfg: Config) -> dict:
    """ECS Exec sessions (service.exec_enabled) logged to the application log group (OVERRIDE:
    the group is named here, not taken from the task's awslogs settings)."""
    if not cfg.service.exec_enabled:
        return {}
    return {"Configuration": ClusterConfiguration(ExecuteCommandConfiguration=ExecuteCommandConfiguration(
        Logging="OVERRIDE", LogConfiguration=ExecuteCommandLogConfiguration(CloudWatchLogGroupName=app_log_group_name(cfg)),
    ))}
