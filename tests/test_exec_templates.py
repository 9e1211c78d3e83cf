"""ECS Exec in the templates follows service.exec_enabled: off (absent) by default, on in dev with
the task role's SSM channel permissions (the four ssmmessages actions the ECS developer guide
lists for ECS Exec) and session logging to the application log group."""

from __future__ import annotations

import json

from enrollcfn.compiler import compile
from enrollcfn.config import Config, load

CHANNELS = {"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}


def _parts(cfg: Config):
    build = compile(cfg)
    service = build.stacks["service"].doc["Resources"]
    cluster = build.stacks["cluster"].doc["Resources"]["Cluster"]["Properties"]
    task_role = json.dumps(service["TaskRole"]["Properties"]["Policies"])
    return service["Service"]["Properties"], cluster, task_role


def test_exec_is_off_by_default_in_production():
    svc, cluster, task_role = _parts(Config())
    assert "EnableExecuteCommand" not in svc and "Configuration" not in cluster
    assert "ssmmessages" not in task_role


def test_dev_config_turns_exec_on_with_channels_and_session_logging():
    cfg = load("config/dev.yaml")
    svc, cluster, task_role = _parts(cfg)
    assert svc["EnableExecuteCommand"] is True
    assert all(action in task_role for action in CHANNELS)
    logging = cluster["Configuration"]["ExecuteCommandConfiguration"]
    assert logging["Logging"] == "OVERRIDE"
    assert logging["LogConfiguration"]["CloudWatchLogGroupName"] == f"/ecs/{cfg.registry.repository_name}"
