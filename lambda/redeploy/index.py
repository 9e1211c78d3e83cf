"""Release a pushed image through CloudFormation when its tag starts with TAG_PREFIX.

Only a successful PUSH to REPOSITORY_NAME of such a tag acts; other events are logged and
ignored. It updates the root stack ROOT_STACK with its own template, every parameter kept but
DIGEST_PARAMETER (the pushed digest) and TAG_PARAMETER (the pushed tag). CloudFormation is then the one
owner of the image the service runs, whatever path released it: the service stack registers the
new task definition, runs the database-user task and the release's migrations, then updates the
service; a failure anywhere rolls the stack back to the digest it held, so the service keeps it;
`plan` and `drift` read the truth, and `rollback` always moves the service.

CloudFormation runs the update with this function's credentials (no RoleARN: a service role
named here would stay associated with the stack and run every later `enrollcfn deploy`), so its
role may do only what an image release changes. A stack already on that digest is left alone, so
a retry changes nothing. A stack busy with another operation raises: EventBridge retries (8 times
within an hour), then dead-letters the event. Two pushes in a row: the second waits for the
first (the stack takes one operation at a time) and wins.
One JSON log line per decision.
"""

import json
import os

import boto3

# What a CloudFormation update of this product needs (the templates name IAM roles).
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def skip_reason(event, repository, prefix):
    """Why `event` must not release, or None for a successful push of a prefix tag."""
    detail = event.get("detail") or {}
    for key, value in (("action-type", "PUSH"), ("result", "SUCCESS"), ("repository-name", repository)):
        if detail.get(key) != value:
            return f"{key} is {detail.get(key)!r}, not {value!r}"
    if not str(detail.get("image-tag") or "").startswith(prefix):
        return f"image-tag is {detail.get('image-tag')!r}, not {prefix}*"
    if not str(detail.get("image-digest") or "").startswith("sha256:"):
        return f"image-digest is {detail.get('image-digest')!r}, not sha256:..."
    return None


def update_arguments(stack, wanted):
    """UpdateStack arguments: `stack` (a DescribeStacks entry) with its template and parameters,
    but the `wanted` parameter values (the pushed image's digest and tag)."""
    names = [p["ParameterKey"] for p in stack.get("Parameters", [])]
    missing = [k for k in wanted if k not in names]
    if missing:
        raise RuntimeError(f"stack {stack['StackName']} has no parameter {', '.join(missing)}")
    parameters = [{"ParameterKey": k, "ParameterValue": wanted[k]} if k in wanted else {"ParameterKey": k, "UsePreviousValue": True} for k in names]
    return {"StackName": stack["StackId"], "UsePreviousTemplate": True, "Parameters": parameters,
            "Capabilities": sorted(set(stack.get("Capabilities") or []) | set(CAPABILITIES))}


def log(decision, **fields):
    """One structured line per decision."""
    print(json.dumps({"decision": decision, **fields}, sort_keys=True, default=str))


def handler(event, context):
    """EventBridge entry point; returns what was done."""
    env = os.environ
    detail = event.get("detail") or {}
    image = {k: detail.get(k) for k in ("repository-name", "image-tag", "image-digest")}
    reason = skip_reason(event, env["REPOSITORY_NAME"], env["TAG_PREFIX"])
    if reason:
        log("ignored", reason=reason, **image)
        return {"released": False, "reason": reason}
    cfn = boto3.client("cloudformation")
    try:
        [stack] = cfn.describe_stacks(StackName=env["ROOT_STACK"])["Stacks"]
        held = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
        if held.get(env["DIGEST_PARAMETER"]) == image["image-digest"]:
            log("unchanged", stack=stack["StackName"], **image)
            return {"released": False, "reason": "the stack already holds this digest"}
        wanted = {env["DIGEST_PARAMETER"]: image["image-digest"], env["TAG_PARAMETER"]: image["image-tag"]}
        cfn.update_stack(**update_arguments(stack, wanted))
    except Exception as exc:
        log("failed", stack=env["ROOT_STACK"], error=repr(exc), **image)
        raise
    log("released", stack=stack["StackName"], previous=held.get(env["DIGEST_PARAMETER"]), **image)
    return {"released": True, "stack": stack["StackId"], "previous": held.get(env["DIGEST_PARAMETER"])}
