"""Following a stack operation: the events of the root and of every nested stack it touches,
only this operation's, in order, plus the ECS rollout while the service updates.

Nothing here prints: each line goes to a `report` callback; waits take `sleep` and `clock`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from enrollcfn.changesets import DONE_OK, EVENT_POLL, Clock, DeployError, Report, Sleep
from enrollcfn.stacks import calm, describe

@dataclass
class Watch:
    """Follows one stack operation: new events of the root and each nested stack, in order."""

    cfn: object
    stack_id: str
    since: datetime
    report: Report
    sleep: Sleep = time.sleep
    probe: Callable[[], list[str]] | None = None  # extra lines while the ECS service updates
    seen: set[str] = field(default_factory=set)
    labels: dict[str, str] = field(default_factory=dict)  # stack id -> label shown in the progress
    failures: list[str] = field(default_factory=list)
    service_busy: bool = False
    busy: dict[str, tuple[str, str]] = field(default_factory=dict)  # "stack/resource" -> (status, since HH:MM:SS), still in progress

    def __post_init__(self):
        self.labels.setdefault(self.stack_id, self.stack_id.split("/")[1] if self.stack_id.startswith("arn:") else self.stack_id)

    def poll(self) -> None:
        """Report every event not yet reported, from every stack of this operation."""
        polled: list[str] = []
        while pending := [s for s in self.labels if s not in polled]:  # nested stacks appear as we read
            polled.append(pending[0])
            for event in self._new_events(pending[0]):
                self._show(pending[0], event)
        if self.probe and self.service_busy:
            try:
                lines = self.probe()
            except ClientError as exc:  # the rollout view is a courtesy: never let it stop the deploy
                lines, self.probe = [f"rollout not shown: {exc}"], None
            for line in lines:
                self.report(f"           service   {line}")

    def _new_events(self, stack_id: str) -> list[dict]:
        """Events newer than the operation's start not yet shown, oldest first (pages are read
        newest first, so reading stops at the first page that reaches back before the start)."""

        def read() -> list[dict]:
            fresh = []
            for page in self.cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
                events = page.get("StackEvents", [])
                older = [e for e in events if e["EventId"] in self.seen or _aware(e["Timestamp"]) < self.since]
                fresh.extend(e for e in events if e not in older)
                if older:
                    break
            return fresh

        return list(reversed(calm(read, self.sleep)))

    def _show(self, stack_id: str, event: dict) -> None:
        self.seen.add(event["EventId"])
        status, kind = event["ResourceStatus"], event["ResourceType"]
        physical = event.get("PhysicalResourceId", "")
        if kind == "AWS::CloudFormation::Stack" and physical and physical != stack_id and physical not in self.labels:
            self.labels[physical] = event["LogicalResourceId"]
        if kind == "AWS::ECS::Service":
            self.service_busy = status.endswith("_IN_PROGRESS")
        where = f"{self.labels[stack_id]}/{event['LogicalResourceId']}"
        if status.endswith("_IN_PROGRESS") and kind != "AWS::CloudFormation::Stack":
            self.busy.setdefault(where, (status, _aware(event["Timestamp"]).strftime("%H:%M:%S")))
        else:
            self.busy.pop(where, None)
        reason = event.get("ResourceStatusReason", "")
        if status.endswith("_FAILED") and reason and "cancelled" not in reason.lower():
            self.failures.append(f"{self.labels[stack_id]}/{event['LogicalResourceId']}: {reason}")
        stamp = _aware(event["Timestamp"]).strftime("%H:%M:%S")
        line = f"{stamp}  {self.labels[stack_id]:<18} {event['LogicalResourceId']:<28} {status}"
        self.report(f"{line}  {reason}" if reason and not status.endswith("_COMPLETE") else line)


# A line of its own when nothing else was said for this long: the elapsed time and what is still
# in progress (an RDS instance takes 5-15 minutes, ACM DNS validation and ECS stabilisation minutes).
HEARTBEAT = 60.0


def heartbeat(watcher: Watch, elapsed: float) -> str:
    """`... 4m30s elapsed; waiting on DatabaseStack/Database (CREATE_IN_PROGRESS since 18:02:11)`."""
    minutes, seconds = divmod(int(elapsed), 60)
    waiting = "; ".join(f"{where} ({status} since {since})" for where, (status, since) in list(watcher.busy.items())[:3])
    return f"           ... {minutes}m{seconds:02d}s elapsed" + (f"; waiting on {waiting}" if waiting else "")


def watch(cfn, watcher: Watch, name: str, clock: Clock, deadline: float, cancel_on_timeout: bool) -> dict:
    """Poll until the stack settles; returns its description. DeployError on failure or timeout.
    Every HEARTBEAT seconds without a new line, one line with the elapsed time."""
    started = quiet_since = clock()
    said = len(watcher.seen)
    while True:
        watcher.poll()
        now = clock()
        if len(watcher.seen) != said:
            said, quiet_since = len(watcher.seen), now
        elif now - quiet_since >= HEARTBEAT:
            watcher.report(heartbeat(watcher, now - started))
            quiet_since = now
        stack = describe(cfn, watcher.stack_id, watcher.sleep)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if not status.endswith("_IN_PROGRESS"):
            watcher.poll()
            if status in DONE_OK:
                return stack
            first = "; ".join(watcher.failures[:3]) or stack.get("StackStatusReason", "")
            raise DeployError(name, f"ended {status}: {first}")
        if now >= deadline:
            if cancel_on_timeout and status == "UPDATE_IN_PROGRESS":
                cfn.cancel_update_stack(StackName=watcher.stack_id, ClientRequestToken=f"enrollcfn-cancel-{uuid.uuid4().hex}")
                raise DeployError(name, "timed out; the update was cancelled and CloudFormation is rolling it back")
            raise DeployError(name, f"timed out while {status}; CloudFormation carries on, follow it in the console")
        watcher.sleep(EVENT_POLL)


def service_probe(ecs, cluster: str, service: str, since: datetime) -> Callable[[], list[str]]:
    """A probe reporting the ECS rollout state, new stopped-task reasons, and the release's stage,
    alarms and rollback (ECS service deployments), each once."""
    last: dict[str, str] = {}
    stopped: set[str] = set()
    releases = release_probe(ecs, cluster, service, since)

    def probe() -> list[str]:
        lines = []
        services = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
        for d in services[0].get("deployments", []) if services else []:
            state = f"{d.get('status')} {d.get('rolloutState', '')} running {d.get('runningCount', 0)}/{d.get('desiredCount', 0)}"
            if last.get(d["id"]) != state:
                last[d["id"]] = state
                lines.append(f"deployment {d['id'].rsplit('/', 1)[-1][-8:]}: {state}")
        arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="STOPPED").get("taskArns", [])
        fresh = [a for a in arns if a not in stopped]
        if fresh:
            for task in ecs.describe_tasks(cluster=cluster, tasks=fresh[:100]).get("tasks", []):
                stopped.add(task["taskArn"])
                if task.get("stoppedAt") and _aware(task["stoppedAt"]) >= since:
                    lines.append(f"task stopped: {task.get('stoppedReason', 'no reason given')}")
        return lines + releases()

    return probe


def release_probe(ecs, cluster: str, service: str, since: datetime) -> Callable[[], list[str]]:
    """A probe of the service deployments started since `since` (ListServiceDeployments,
    DescribeServiceDeployments): each change of status and lifecycle stage (test traffic,
    production traffic shift, bake), an alarm that fires (by name), a rollback and its reason."""
    said: set[str] = set()

    def probe() -> list[str]:
        try:
            found = ecs.list_service_deployments(cluster=cluster, service=service, createdAt={"after": since})["serviceDeployments"]
            arns = [d["serviceDeploymentArn"] for d in found][:20]
            deployments = ecs.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"] if arns else []
        except ClientError:  # a region or an emulator without the API: the rollout lines above still show
            return []
        lines = []
        for d in deployments:
            short = d["serviceDeploymentArn"].rsplit("/", 1)[-1][-8:]
            fired = (d.get("alarms") or {}).get("triggeredAlarmNames") or []
            state = f"release {short}: {d.get('status')} {d.get('lifecycleStage', '')}".rstrip()
            news = [state]
            if fired:
                news.append(f"release {short}: alarm {', '.join(fired)} fired; ECS rolls the release back")
            if d.get("rollback"):
                news.append(f"release {short}: rolled back: {d['rollback'].get('reason') or d.get('statusReason') or 'no reason given'}")
            elif d.get("status") in ("STOPPED", "ROLLBACK_FAILED") and d.get("statusReason"):
                news.append(f"release {short}: {d['statusReason']}")
            lines += [line for line in news if line not in said]
            said.update(news)
        return lines

    return probe


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
