"""Close the VPC's default security group (Security Hub EC2.2): a CloudFormation custom resource.

Create and Update revoke the two rules AWS gives every default group: all traffic in from the
group itself, and all traffic out to 0.0.0.0/0. A rule already gone is not an error, so a rerun
changes nothing. Delete does nothing: the group is deleted with its VPC.
The answer goes to CloudFormation's pre-signed ResponseURL with urllib (no cfn-response module).
Properties: GroupId, Account.
"""

import json
import urllib.request

import boto3
from botocore.exceptions import ClientError


def default_rules(group, account):
    """(revoke call name, IpPermission) for each rule a new default group carries."""
    return (
        ("revoke_security_group_ingress", {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group, "UserId": account}]}),
        ("revoke_security_group_egress", {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}),
    )


def revoke(ec2, group, account):
    """Revoke the default rules of `group`; the names of those that were still there."""
    revoked = []
    for call, permission in default_rules(group, account):
        try:
            answer = getattr(ec2, call)(GroupId=group, IpPermissions=[permission])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "InvalidPermission.NotFound":
                raise
            continue
        if not answer.get("UnknownIpPermissions"):
            revoked.append(call)
    return revoked


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
    group = props.get("GroupId", "")
    status, reason, revoked = "SUCCESS", "default rules revoked", []
    try:
        if event["RequestType"] in ("Create", "Update"):
            revoked = revoke(boto3.client("ec2"), group, props["Account"])
        else:
            reason = "nothing to do: the group is deleted with its VPC"
    except Exception as exc:  # every failure must still reach CloudFormation
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"
    print(json.dumps({"request": event["RequestType"], "group": group, "status": status, "reason": reason, "revoked": revoked}))
    # A new group id (the VPC was replaced) is a new physical id; CloudFormation then deletes the old one.
    physical = event.get("PhysicalResourceId") if event["RequestType"] == "Delete" else group
    reply(event, status, reason, physical or context.log_stream_name)
    return {"status": status, "revoked": revoked}
