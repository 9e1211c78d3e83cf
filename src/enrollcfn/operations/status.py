"""`enrollcfn status`: one screen that answers "is it healthy?".

Every stack and its status, the ECS service's deployments and rollout, running/desired/pending
tasks and the image digest each runs, target health behind the load balancer, alarms in ALARM,
the database status and the last stopped tasks with their reasons. `problems` lists what makes
it degraded (the command exits 3 then).
"""

from __future__ import annotations

from dataclasses import dataclass

from enrollcfn.operations import SETTLED_OK, Deployed, short_id
from enrollcfn.templates.cluster import CLUSTER_NAME
from enrollcfn.templates.database import DATABASE_INSTANCE_ID
from enrollcfn.templates.load_balancer import TARGET_GROUP_ARN
from enrollcfn.templates.service import SERVICE_NAME

STOPPED_SHOWN = 5
_ALARM_BATCH = 100  # DescribeAlarms takes at most 100 AlarmNames (CloudWatch API reference)
_TASK_BATCH = 100  # DescribeTasks takes at most 100 tasks (ECS API reference)


@dataclass(frozen=True)
class StatusClients:
    """The clients `status` reads with."""

    cfn: object
    ecs: object
    elbv2: object
    cloudwatch: object
    rds: object


def status(c: StatusClients, dep: Deployed) -> dict:
    """The health of the deployed stack as plain data; `problems` is empty when healthy."""
    report = {"stack": dep.name, "stacks": _stacks(dep)}
    cluster, service = dep.require(CLUSTER_NAME), dep.require(SERVICE_NAME)
    report["service"] = _service(c.ecs, cluster, service)
    present = report["service"] is not None  # ListTasks on a missing service fails
    report["tasks"] = _tasks(c.ecs, cluster, service, "RUNNING") if present else []
    report["stopped"] = sorted(_tasks(c.ecs, cluster, service, "STOPPED") if present else [],
                               key=lambda t: t.get("stopped_at") or "", reverse=True)[:STOPPED_SHOWN]
    tg = dep.nested_outputs(c.cfn, "LoadBalancerStack").get(TARGET_GROUP_ARN)
    report["targets"] = _targets(c.elbv2, tg) if tg else []
    report["alarms"] = _alarms(c.cloudwatch, dep.resources(c.cfn, "MonitoringStack", "AWS::CloudWatch::Alarm"))
    db = dep.nested_outputs(c.cfn, "DatabaseStack").get(DATABASE_INSTANCE_ID)
    report["database"] = _database(c.rds, db) if db else None
    report["problems"] = problems(report)
    return report


def problems(report: dict) -> list[str]:
    """What makes the report degraded, one line each."""
    found = [f"stack {s['name']} is {s['status']}" for s in report["stacks"] if s["status"] not in SETTLED_OK]
    svc = report["service"]
    if svc is None:
        found.append("the ECS service does not exist")
    else:
        if svc["running"] < svc["desired"]:
            found.append(f"service runs {svc['running']} of {svc['desired']} tasks")
        found += [f"deployment {d['id']} is {d['rollout']}" for d in svc["deployments"] if d["rollout"] not in ("COMPLETED", "")]
    found += [f"target {t['id']} is {t['state']}" for t in report["targets"] if t["state"] != "healthy"]
    found += [f"alarm {a['name']} is in ALARM" for a in report["alarms"]]
    db = report["database"]
    if db is not None and db["status"] != "available":
        found.append(f"database {db['id']} is {db['status']}")
    return found


def _stacks(dep: Deployed) -> list[dict]:
    rows = [{"name": dep.name, "logical_id": "", "status": dep.stack["StackStatus"]}]
    for logical, summary in sorted(dep.nested.items()):
        rows.append({"name": summary["PhysicalResourceId"].split("/")[1] if summary["PhysicalResourceId"].startswith("arn:")
                     else summary["PhysicalResourceId"], "logical_id": logical, "status": summary["ResourceStatus"]})
    return rows


def _service(ecs, cluster: str, service: str) -> dict | None:
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    if not found or found[0].get("status") == "INACTIVE":
        return None
    s = found[0]
    deployments = [{"id": d["id"].rsplit("/", 1)[-1], "status": d.get("status", ""), "rollout": d.get("rolloutState", ""),
                    "task_definition": d.get("taskDefinition", "").rsplit("/", 1)[-1],
                    "running": d.get("runningCount", 0), "desired": d.get("desiredCount", 0)} for d in s.get("deployments", [])]
    return {"name": s["serviceName"], "task_definition": s.get("taskDefinition", "").rsplit("/", 1)[-1],
            "running": s.get("runningCount", 0), "desired": s.get("desiredCount", 0), "pending": s.get("pendingCount", 0),
            "exec_enabled": bool(s.get("enableExecuteCommand")), "deployments": deployments}


def _tasks(ecs, cluster: str, service: str, desired: str) -> list[dict]:
    arns = []
    for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster, serviceName=service, desiredStatus=desired):
        arns += page.get("taskArns", [])
    rows = []
    for i in range(0, len(arns), _TASK_BATCH):
        for t in ecs.describe_tasks(cluster=cluster, tasks=arns[i:i + _TASK_BATCH]).get("tasks", []):
            container = (t.get("containers") or [{}])[0]
            rows.append({"id": short_id(t["taskArn"]), "status": t.get("lastStatus", ""), "health": t.get("healthStatus", ""),
                         "digest": container.get("imageDigest", ""), "task_definition": t.get("taskDefinitionArn", "").rsplit("/", 1)[-1],
                         "stopped_reason": t.get("stoppedReason", ""), "exit_code": container.get("exitCode"),
                         "stopped_at": str(t["stoppedAt"]) if t.get("stoppedAt") else None})
    return rows


def _targets(elbv2, target_group: str) -> list[dict]:
    health = elbv2.describe_target_health(TargetGroupArn=target_group).get("TargetHealthDescriptions", [])
    return [{"id": h["Target"]["Id"], "port": h["Target"].get("Port"), "state": h.get("TargetHealth", {}).get("State", ""),
             "reason": h.get("TargetHealth", {}).get("Description", "")} for h in health]


def _alarms(cloudwatch, names: list[str]) -> list[dict]:
    firing = []
    for i in range(0, len(names), _ALARM_BATCH):
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=names[i:i + _ALARM_BATCH], StateValue="ALARM"):
            firing += [{"name": a["AlarmName"], "reason": a.get("StateReason", "")} for a in page.get("MetricAlarms", [])]
    return firing


def _database(rds, instance_id: str) -> dict:
    [db] = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"]
    return {"id": instance_id, "status": db["DBInstanceStatus"], "engine": f"{db.get('Engine', '')} {db.get('EngineVersion', '')}".strip(),
            "multi_az": bool(db.get("MultiAZ"))}


def render(report: dict) -> str:
    """The report as the screen `enrollcfn status` prints."""
    lines = [f"{report['stack']}: {'healthy' if not report['problems'] else 'DEGRADED'}", "stacks:"]
    lines += [f"  {s['logical_id'] or 'root':<18} {s['name']:<44} {s['status']}" for s in report["stacks"]]
    svc = report["service"]
    if svc:
        lines.append(f"service {svc['name']}: running {svc['running']}/{svc['desired']}, pending {svc['pending']}, "
                     f"task definition {svc['task_definition']}, exec {'on' if svc['exec_enabled'] else 'off'}")
        lines += [f"  deployment {d['id']}: {d['status']} {d['rollout']} {d['running']}/{d['desired']} ({d['task_definition']})"
                  for d in svc["deployments"]]
    lines += [f"  task {t['id']}: {t['status']} {t['health']} image {t['digest'] or '(digest not reported yet)'}" for t in report["tasks"]]
    lines.append("targets: " + (", ".join(f"{t['id']}:{t['port']} {t['state']}" for t in report["targets"]) or "none registered"))
    lines.append("alarms in ALARM: " + (", ".join(a["name"] for a in report["alarms"]) or "none"))
    db = report["database"]
    lines.append(f"database {db['id']}: {db['status']} ({db['engine']}, multi-AZ {'on' if db['multi_az'] else 'off'})" if db else "database: not found")
    for t in report["stopped"]:
        exit_code = "" if t["exit_code"] is None else f" exit {t['exit_code']}"
        lines.append(f"  stopped {t['id']}{exit_code}: {t['stopped_reason'] or 'no reason given'}")
    lines += [f"problem: {p}" for p in report["problems"]]
    return "\n".join(lines)
