"""Force a new deployment of one ECS service when its image tag is pushed to ECR.

EventBridge sends "ECR Image Action" events. Only a successful PUSH of REPOSITORY_NAME:IMAGE_TAG
acts; any other event is logged and ignored. The service re-resolves the tag to the new digest.
Each decision is one JSON log line. Errors raise, so EventBridge retries and then dead-letters.
Environment: CLUSTER_NAME, SERVICE_NAME, REPOSITORY_NAME, IMAGE_TAG.
"""

import json
import os

import boto3


def skip_reason(event, repository, tag):
    """Why `event` must not redeploy, or None for a successful push of repository:tag."""
    detail = event.get("detail") or {}
    wanted = (
        ("action-type", "PUSH"),
        ("result", "SUCCESS"),
        ("repository-name", repository),
        ("image-tag", tag),
    )
    for key, value in wanted:
        if detail.get(key) != value:
            return f"{key} is {detail.get(key)!r}, not {value!r}"
    return None


def log(decision, **fields):
    """One structured line per decision."""
    print(json.dumps({"decision": decision, **fields}, sort_keys=True, default=str))


def handler(event, context):
    """EventBridge entry point; returns what was done."""
    env = os.environ
    cluster, service = env["CLUSTER_NAME"], env["SERVICE_NAME"]
    detail = event.get("detail") or {}
    image = {
        "repository": detail.get("repository-name"),
        "tag": detail.get("image-tag"),
        "digest": detail.get("image-digest"),
    }
    reason = skip_reason(event, env["REPOSITORY_NAME"], env["IMAGE_TAG"])
    if reason:
        log("ignored", reason=reason, **image)
        return {"redeployed": False, "reason": reason}
    ecs = boto3.client("ecs")
    try:
        found = ecs.describe_services(cluster=cluster, services=[service])
        active = [s for s in found["services"] if s["status"] == "ACTIVE"]
        if not active:
            raise RuntimeError(f"service {service} is not active in cluster {cluster}: {found['failures']}")
        rolling = [d["id"] for d in active[0]["deployments"] if d.get("rolloutState") == "IN_PROGRESS"]
        updated = ecs.update_service(cluster=cluster, service=service, forceNewDeployment=True)
    except Exception as exc:
        log("failed", cluster=cluster, service=service, error=repr(exc), **image)
        raise
    deployment = updated["service"]["deployments"][0]["id"]
    log("redeployed", cluster=cluster, service=service, deployment=deployment, superseded=rolling, **image)
    return {"redeployed": True, "deployment": deployment}
