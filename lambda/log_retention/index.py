"""Give the log groups a service creates for itself a retention: a CloudFormation custom resource.

RDS publishes exported logs to /aws/rds/instance/<id>/<log>, a group it creates on first write
and never expires. CloudFormation cannot declare that group without racing RDS (or failing
where it exists already), so Create and Update create each group if it is missing and set its
retention. Delete does nothing: the groups keep the logs until they expire.
The answer goes to CloudFormation's pre-signed ResponseURL with urllib (no cfn-response module).
Properties: LogGroupNames (list), RetentionInDays.
"""

import json
import urllib.request

import boto3
from botocore.exceptions import ClientError


def retain(logs, names, days):
    """Create each group if missing and set its retention; the names created."""
    created = []
    for name in names:
        try:
            logs.create_log_group(logGroupName=name)
            created.append(name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(days))
    return created


def reply(event, status, reason, physical_id):
    """PUT the result to CloudFormation; without it the stack waits until ServiceTimeout."""
    body = json.dumps({
        "Status": status,
        "Reason": reason[:1000],
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (CloudFormation's https URL)
        return answer.status


def handler(event, context):
    """Custom resource entry point: never raises, always answers CloudFormation."""
    props = event.get("ResourceProperties") or {}
    names = list(props.get("LogGroupNames") or [])
    status, reason, created = "SUCCESS", f"retention {props.get('RetentionInDays')} days", []
    try:
        if event["RequestType"] in ("Create", "Update"):
            created = retain(boto3.client("logs"), names, props["RetentionInDays"])
        else:
            reason = "nothing to do: the groups expire by their retention"
    except Exception as exc:  # every failure must still reach CloudFormation
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"
    print(json.dumps({"request": event["RequestType"], "groups": names, "status": status, "reason": reason, "created": created}))
    physical = event.get("PhysicalResourceId") or f"log-retention-{event['LogicalResourceId']}"
    reply(event, status, reason, physical)
    return {"status": status, "created": created}
