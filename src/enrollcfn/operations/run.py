"""`enrollcfn run -- COMMAND...`: a one-off task from the service's current task definition.

It runs in the service's subnets with its security group (read from describe_services, so it
reaches the database exactly as the service does), on FARGATE (not Spot: a migration must not be
interrupted), with the command overridden; its logs stream while it runs, and the container's
exit code is the command's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from enrollcfn.errors import EnrollcfnError
from enrollcfn.operations import Deployed, short_id
from enrollcfn.templates.cluster import CLUSTER_NAME
from enrollcfn.templates.service import SERVICE_NAME

STARTED_BY = "enrollcfn-run"  # shows who started the task in the console (startedBy, at most 128 characters)
POLL = 3.0


@dataclass(frozen=True)
class Started:
    """A one-off task that was started."""

    cluster: str
    task_arn: str
    container: str

    @property
    def task_id(self) -> str:
        return short_id(self.task_arn)


def service_container(ecs, task_definition: str) -> str:
    """The name of the (single, essential) application container of a task definition."""
    containers = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]["containerDefinitions"]
    return next((c["name"] for c in containers if c.get("essential", True)), containers[0]["name"])


def start(ecs, dep: Deployed, command: list[str]) -> Started:
    """Start the one-off task; EnrollcfnError when the service or its network is missing."""
    cluster, service = dep.require(CLUSTER_NAME), dep.require(SERVICE_NAME)
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    if not found or not found[0].get("networkConfiguration", {}).get("awsvpcConfiguration"):
        raise EnrollcfnError(dep.name, f"service {service} (or its network configuration) not found in cluster {cluster}")
    svc = found[0]
    container = service_container(ecs, svc["taskDefinition"])
    response = ecs.run_task(
        cluster=cluster, taskDefinition=svc["taskDefinition"], launchType="FARGATE", count=1, startedBy=STARTED_BY,
        networkConfiguration=svc["networkConfiguration"], platformVersion="LATEST",
        overrides={"containerOverrides": [{"name": container, "command": list(command)}]},
        propagateTags="TASK_DEFINITION",
    )
    if not response.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in response.get("failures", []))
        raise EnrollcfnError(dep.name, f"the task did not start: {reasons or 'no reason given'}")
    return Started(cluster, response["tasks"][0]["taskArn"], container)


def wait(ecs, started: Started, on_poll: Callable[[], None] = lambda: None, sleep: Callable[[float], None] = time.sleep,
         clock: Callable[[], float] = time.monotonic, timeout: float = 3600) -> dict:
    """Poll until the task is STOPPED (calling `on_poll` each time, to stream logs); its description."""
    deadline = clock() + timeout
    while True:
        on_poll()
        [task] = ecs.describe_tasks(cluster=started.cluster, tasks=[started.task_arn])["tasks"]
        if task.get("lastStatus") == "STOPPED":
            on_poll()
            return task
        if clock() >= deadline:
            raise EnrollcfnError(started.task_id, f"still {task.get('lastStatus')} after {timeout / 60:.0f} minutes; "
                                 f"stop it with `aws ecs stop-task --cluster {started.cluster} --task {started.task_id}`")
        sleep(POLL)


def exit_code(task: dict, container: str) -> int:
    """The container's exit code; EnrollcfnError when it never ran (image pull, secrets, capacity)."""
    for c in task.get("containers", []):
        if c.get("name") == container and c.get("exitCode") is not None:
            return int(c["exitCode"])
    reason = task.get("stoppedReason") or "no reason given"
    raise EnrollcfnError(short_id(task["taskArn"]), f"the container did not run to an exit code: {reason}")
