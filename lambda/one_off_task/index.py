"""Run one ECS task to completion as a step of a stack operation: a CloudFormation custom resource.

The service stack uses it twice, each before the service may change: the database user the
application connects as (created or updated from its own secret, as the master user), then the
release's migrations (the new task definition with the migration command). Create and Update run
the task on FARGATE in the service's subnets and security group and wait for it to stop: exit 0
answers SUCCESS; anything else answers FAILED with the exit code, ECS's stopped reason and the
container's last log lines, and CloudFormation rolls the stack back, so the service keeps the
image it runs. Delete does nothing. A task still running after 14 minutes (the function's 15
minute limit) is stopped and fails the operation.
Properties: Cluster, TaskDefinition, ContainerName, Command (optional), Subnets, SecurityGroups,
AssignPublicIp, LogGroup, StreamPrefix.
"""

import json
import time
import urllib.request

import boto3

POLL = 6


def start(ecs, props):
    """RunTask; the task ARN, or RuntimeError with ECS's failures."""
    override = {"name": props["ContainerName"]}
    if props.get("Command"):
        override["command"] = list(props["Command"])
    response = ecs.run_task(
        cluster=props["Cluster"], taskDefinition=props["TaskDefinition"], launchType="FARGATE", platformVersion="LATEST", count=1,
        startedBy="cloudformation", propagateTags="TASK_DEFINITION", overrides={"containerOverrides": [override]},
        networkConfiguration={"awsvpcConfiguration": {"subnets": list(props["Subnets"]), "securityGroups": list(props["SecurityGroups"]),
                                                      "assignPublicIp": props.get("AssignPublicIp", "DISABLED")}},
    )
    if not response.get("tasks"):
        raise RuntimeError("the task did not start: " + "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in response.get("failures", [])))
    return response["tasks"][0]["taskArn"]


def wait(ecs, cluster, arn, seconds, sleep=None):
    """Poll until the task STOPPED; its description, or None after `seconds`."""
    sleep = sleep or time.sleep
    deadline = time.monotonic() + seconds
    while True:
        [task] = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"]
        if task.get("lastStatus") == "STOPPED":
            return task
        if time.monotonic() >= deadline:
            return None
        sleep(POLL)


def outcome(task, container, tail):
    """(status, reason) of a stopped task: SUCCESS only when `container` exited 0."""
    found = next((c for c in task.get("containers", []) if c["name"] == container), {})
    code = found.get("exitCode")
    if code == 0:
        return "SUCCESS", f"{container} exited 0"
    why = found.get("reason") or task.get("stoppedReason") or "no reason given"
    lines = "\n".join(tail)
    return "FAILED", f"{container} exited {code if code is not None else 'without running'} ({why}); last lines:\n{lines}"


def log_tail(logs, props, arn, lines=15):
    """The container's last log lines (awslogs stream <prefix>/<container>/<task id>)."""
    stream = f"{props['StreamPrefix']}/{props['ContainerName']}/{arn.rsplit('/', 1)[-1]}"
    try:
        events = logs.get_log_events(logGroupName=props["LogGroup"], logStreamName=stream, limit=lines, startFromHead=False)["events"]
    except Exception as exc:  # the log is a courtesy; the exit code decides
        return [f"(log stream {stream} unreadable: {type(exc).__name__})"]
    return [e["message"][:300] for e in events]


def reply(event, status, reason, physical_id, data=None):
    """PUT the result to CloudFormation's pre-signed URL (the body may hold at most 4096 bytes)."""
    body = json.dumps({
        "Status": status, "Reason": reason[-1500:], "PhysicalResourceId": physical_id, "StackId": event["StackId"],
        "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"], "Data": data or {},
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (CloudFormation's https URL)
        return answer.status


def run(event, seconds, ecs, logs):
    """(status, reason, data) of the request: the task run, or nothing on Delete."""
    if event["RequestType"] == "Delete":
        return "SUCCESS", "nothing to undo", {}
    props = event["ResourceProperties"]
    arn = start(ecs, props)
    print(json.dumps({"started": arn, "task_definition": props["TaskDefinition"], "command": props.get("Command")}))
    task = wait(ecs, props["Cluster"], arn, seconds)
    if task is None:
        ecs.stop_task(cluster=props["Cluster"], task=arn, reason="still running when the custom resource had to answer")
        return "FAILED", f"{arn} still running after {seconds // 60} minutes; stopped. Run it with `enrollcfn run` instead", {}
    status, reason = outcome(task, props["ContainerName"], [])
    if status == "FAILED":
        status, reason = outcome(task, props["ContainerName"], log_tail(logs, props, arn))
    return status, reason, {"TaskArn": arn}


def handler(event, context):
    """Custom resource entry point: never raises, always answers CloudFormation."""
    physical = event.get("PhysicalResourceId") or f"one-off-{event['LogicalResourceId']}"
    try:
        seconds = max(60, context.get_remaining_time_in_millis() // 1000 - 60)
        status, reason, data = run(event, seconds, boto3.client("ecs"), boto3.client("logs"))
    except Exception as exc:  # every failure must still reach CloudFormation
        status, reason, data = "FAILED", f"{type(exc).__name__}: {exc}", {}
    print(json.dumps({"request": event["RequestType"], "resource": event["LogicalResourceId"], "status": status, "reason": reason}))
    reply(event, status, reason, physical, data)
