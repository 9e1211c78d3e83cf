"""Deploy a pushed image to one ECS service by digest when its tag starts with TAG_PREFIX.

Only a successful PUSH to REPOSITORY_NAME of such a tag acts; other events are logged and
ignored. It registers a copy of the service's task definition whose CONTAINER_NAME image is
REPOSITORY_URI@digest and points the service at it (the circuit breaker rolls back to the
previous revision). A service already on that digest is left alone, so a retry changes nothing.

A Secrets Manager `Secret Label Updated` event moving AWSCURRENT on SECRET_ARN (the database's
RDS-managed secret: a rotation) restarts the service's tasks instead (UpdateService forceNewDeployment): ECS reads a secret when a task
starts, so tasks started before the rotation hold the old password, which stops working for new
connections.

Two invocations may run at once (no reserved concurrency by default): each is a whole
UpdateService of its own, the digest check makes a repeated push a no-op and a repeated restart
only replaces the tasks again, so neither leaves the service half-changed. Two different pushes
within seconds of each other may finish in either order; the later UpdateService wins.
One JSON log line per decision. Errors raise: EventBridge retries, then dead-letters.
"""

import json
import os

import boto3

# What RegisterTaskDefinition accepts of what DescribeTaskDefinition returns.
COPIED = (
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
    "placementConstraints", "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode",
    "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage", "runtimePlatform",
)  # fmt: skip


def skip_reason(event, repository, prefix):
    """Why `event` must not redeploy, or None for a successful push of a prefix tag."""
    detail = event.get("detail") or {}
    for key, value in (("action-type", "PUSH"), ("result", "SUCCESS"), ("repository-name", repository)):
        if detail.get(key) != value:
            return f"{key} is {detail.get(key)!r}, not {value!r}"
    if not str(detail.get("image-tag") or "").startswith(prefix):
        return f"image-tag is {detail.get('image-tag')!r}, not {prefix}*"
    if not str(detail.get("image-digest") or "").startswith("sha256:"):
        return f"image-digest is {detail.get('image-digest')!r}, not sha256:..."
    return None


def rotated_secret(event):
    """The ARN of the secret whose AWSCURRENT label a Secrets Manager `Secret Label Updated` event
    moved (its `resources`; Secrets Manager user guide, "Secret Label Updated event"), or None."""
    detail = event.get("detail") or {}
    if event.get("source") != "aws.secretsmanager" or event.get("detail-type") != "Secret Label Updated":
        return None
    if detail.get("labelUpdated") != "AWSCURRENT":
        return None
    resources = event.get("resources") or [None]
    return resources[0]


def restart(cluster, service, secret):
    """Start new tasks, which read the rotated secret; the old ones drain."""
    boto3.client("ecs").update_service(cluster=cluster, service=service, forceNewDeployment=True)
    log("restarted", cluster=cluster, service=service, reason="secret rotated", secret=secret)
    return {"redeployed": True, "reason": "secret rotated"}


def with_image(taskdef, container, image):
    """RegisterTaskDefinition arguments: `taskdef` with `container` running `image`, and every
    other container that ran the same image (the init container) running it too."""
    args = {k: taskdef[k] for k in COPIED if taskdef.get(k)}
    old = next(c["image"] for c in taskdef["containerDefinitions"] if c["name"] == container)
    args["containerDefinitions"] = [{**c, "image": image} if c["name"] == container or c["image"] == old else c
                                    for c in taskdef["containerDefinitions"]]
    return args


def log(decision, **fields):
    """One structured line per decision."""
    print(json.dumps({"decision": decision, **fields}, sort_keys=True, default=str))


def handler(event, context):
    """EventBridge entry point; returns what was done."""
    env = os.environ
    cluster, service = env["CLUSTER_NAME"], env["SERVICE_NAME"]
    if event.get("source") == "aws.secretsmanager":
        secret = rotated_secret(event)
        if secret != env["SECRET_ARN"]:
            log("ignored", reason=f"not AWSCURRENT moving on {env['SECRET_ARN']}", secret=secret)
            return {"redeployed": False, "reason": "not this service's rotated secret"}
        return restart(cluster, service, secret)
    detail = event.get("detail") or {}
    image = {k: detail.get(k) for k in ("repository-name", "image-tag", "image-digest")}
    reason = skip_reason(event, env["REPOSITORY_NAME"], env["TAG_PREFIX"])
    if reason:
        log("ignored", reason=reason, **image)
        return {"redeployed": False, "reason": reason}
    wanted = f"{env['REPOSITORY_URI']}@{image['image-digest']}"
    ecs = boto3.client("ecs")
    try:
        found = ecs.describe_services(cluster=cluster, services=[service])
        active = [s for s in found["services"] if s["status"] == "ACTIVE"]
        if not active:
            raise RuntimeError(f"service {service} is not active in cluster {cluster}: {found['failures']}")
        current = ecs.describe_task_definition(taskDefinition=active[0]["taskDefinition"])["taskDefinition"]
        if any(c["name"] == env["CONTAINER_NAME"] and c["image"] == wanted for c in current["containerDefinitions"]):
            log("unchanged", service=service, task_definition=current["taskDefinitionArn"], **image)
            return {"redeployed": False, "reason": "already running this digest"}
        new = ecs.register_task_definition(**with_image(current, env["CONTAINER_NAME"], wanted))["taskDefinition"]["taskDefinitionArn"]
        ecs.update_service(cluster=cluster, service=service, taskDefinition=new)
    except Exception as exc:
        log("failed", cluster=cluster, service=service, error=repr(exc), **image)
        raise
    log("redeployed", cluster=cluster, service=service, task_definition=new, previous=current["taskDefinitionArn"], **image)
    return {"redeployed": True, "task_definition": new}
