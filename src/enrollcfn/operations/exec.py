"""`enrollcfn exec [--task ID] [-- COMMAND]`: a shell (or a command) in a running task, by ECS Exec.

ECS Exec needs the AWS CLI and the Session Manager plugin on this machine, the service's
EnableExecuteCommand (config `service.exec_enabled`), and the task role's ssmmessages channel
permissions; a task started before exec was enabled cannot be entered (ECS sets it at launch).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from enrollcfn.errors import EnrollcfnError
from enrollcfn.operations import Deployed, short_id
from enrollcfn.operations.run import service_container
from enrollcfn.templates.cluster import CLUSTER_NAME
from enrollcfn.templates.service import SERVICE_NAME

INSTALL = ("install the AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) and the "
           "Session Manager plugin (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html)")


def missing_tools(which: Callable[[str], str | None] | None = None) -> list[str]:
    """The local programs ECS Exec needs that are not on PATH."""
    return [tool for tool in ("aws", "session-manager-plugin") if not (which or shutil.which)(tool)]


def argv(ecs, dep: Deployed, region: str, task: str | None, command: list[str], profile: str | None = None) -> list[str]:
    """The `aws ecs execute-command` line for a running, exec-enabled task of the service."""
    cluster, service = dep.require(CLUSTER_NAME), dep.require(SERVICE_NAME)
    if task is None:
        running = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING").get("taskArns", [])
        if not running:
            raise EnrollcfnError(dep.name, f"service {service} has no running task to enter")
        task = running[0]
    described = ecs.describe_tasks(cluster=cluster, tasks=[task]).get("tasks", [])
    if not described or described[0].get("lastStatus") != "RUNNING":
        raise EnrollcfnError("--task", f"{short_id(task)} is not a running task of cluster {cluster}")
    t = described[0]
    if not t.get("enableExecuteCommand"):
        raise EnrollcfnError("service.exec_enabled", f"task {short_id(t['taskArn'])} was started without ECS Exec: set "
                             "service.exec_enabled: true, deploy, and use a task started after that")
    container = service_container(ecs, t["taskDefinitionArn"])
    line = ["aws", "ecs", "execute-command", "--region", region, "--cluster", cluster, "--task", short_id(t["taskArn"]),
            "--container", container, "--interactive", "--command", " ".join(command) if command else "/bin/sh"]
    return line + (["--profile", profile] if profile else [])
