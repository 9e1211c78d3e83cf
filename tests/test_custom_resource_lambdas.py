"""The custom resources' Lambdas (default security group, log retention), called directly with
boto3 pointed at a moto server over real HTTP, and CloudFormation's ResponseURL played by a local
HTTP server that records what the function PUTs."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.request

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import load_function

lam = load_function("default_security_group")
retention = load_function("log_retention")


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def answers():
    """A stand-in for CloudFormation's pre-signed URL: every PUT body, parsed, in order."""
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802 (http.server's naming)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/response", received
    server.shutdown()


@pytest.fixture
def ec2(moto_url, monkeypatch):
    """A fresh moto; the handler's boto3 talks to it."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).close()
    for key, value in {"AWS_ENDPOINT_URL": moto_url, "AWS_DEFAULT_REGION": "ap-southeast-2",
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return boto3.client("ec2")


# The rules AWS gives every default security group (Amazon VPC user guide, "Default security
# groups for your VPCs"): inbound all traffic from the group itself, outbound all IPv4 traffic.
DOCUMENTED_INGRESS = {"IpProtocol": "-1", "self": True}
DOCUMENTED_EGRESS = {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}


def default_group(ec2) -> dict:
    """A new VPC's default group with the documented rules (moto 5 leaves out the inbound one)."""
    vpc = ec2.create_vpc(CidrBlock="192.168.0.0/24")["Vpc"]["VpcId"]
    (group,) = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    if not group["IpPermissions"]:
        pair = {"GroupId": group["GroupId"], "UserId": group["OwnerId"]}
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [pair]}])
    return group


def rules(ec2, group_id: str) -> tuple[list, list]:
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    return group["IpPermissions"], group["IpPermissionsEgress"]


def event(request: str, url: str, group_id: str, account: str, **extra) -> dict:
    return {
        "RequestType": request, "ResponseURL": url, "StackId": "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/s/1",
        "RequestId": "r-1", "LogicalResourceId": "DefaultSecurityGroupRestriction",
        "ResourceProperties": {"ServiceToken": "arn:fn", "GroupId": group_id, "Account": account}, **extra,
    }  # fmt: skip


def test_the_function_revokes_exactly_the_documented_default_rules():
    (ingress_call, ingress), (egress_call, egress) = lam.default_rules("sg-1", "123456789012")
    assert ingress_call == "revoke_security_group_ingress" and egress_call == "revoke_security_group_egress"
    assert ingress == {"IpProtocol": DOCUMENTED_INGRESS["IpProtocol"], "UserIdGroupPairs": [{"GroupId": "sg-1", "UserId": "123456789012"}]}
    assert egress == {"IpProtocol": DOCUMENTED_EGRESS["IpProtocol"], "IpRanges": [{"CidrIp": DOCUMENTED_EGRESS["CidrIp"]}]}


def test_create_leaves_the_default_group_without_any_rule_and_answers_success(ec2, answers):
    url, received = answers
    group = default_group(ec2)
    result = lam.handler(event("Create", url, group["GroupId"], group["OwnerId"]), None)
    assert rules(ec2, group["GroupId"]) == ([], [])
    assert result["revoked"] == ["revoke_security_group_ingress", "revoke_security_group_egress"]
    (answer,) = received
    assert answer["Status"] == "SUCCESS" and answer["PhysicalResourceId"] == group["GroupId"]
    assert answer["RequestId"] == "r-1" and answer["LogicalResourceId"] == "DefaultSecurityGroupRestriction"


def test_update_on_an_already_closed_group_succeeds(ec2, answers):
    url, received = answers
    group = default_group(ec2)
    lam.handler(event("Create", url, group["GroupId"], group["OwnerId"]), None)
    lam.handler(event("Update", url, group["GroupId"], group["OwnerId"], PhysicalResourceId=group["GroupId"]), None)
    assert [a["Status"] for a in received] == ["SUCCESS", "SUCCESS"]
    assert rules(ec2, group["GroupId"]) == ([], [])


def test_delete_changes_nothing_and_keeps_the_physical_id(ec2, answers):
    url, received = answers
    group = default_group(ec2)
    before = rules(ec2, group["GroupId"])
    assert before[0] and before[1]
    lam.handler(event("Delete", url, group["GroupId"], group["OwnerId"], PhysicalResourceId="kept-id"), None)
    assert rules(ec2, group["GroupId"]) == before
    (answer,) = received
    assert answer["Status"] == "SUCCESS" and answer["PhysicalResourceId"] == "kept-id"


def test_an_ec2_error_is_answered_as_failed_never_raised(ec2, answers):
    url, received = answers
    result = lam.handler(event("Create", url, "sg-00000000000000000", "123456789012"), None)
    assert result["status"] == "FAILED"
    (answer,) = received
    assert answer["Status"] == "FAILED" and "InvalidGroup" in answer["Reason"]


# ---- log retention ------------------------------------------------------------------------------

GROUPS = ["/aws/rds/instance/db-1/audit", "/aws/rds/instance/db-1/error"]


def retention_event(request: str, url: str, **extra) -> dict:
    return {
        "RequestType": request, "ResponseURL": url, "StackId": "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/s/1",
        "RequestId": "r-2", "LogicalResourceId": "DatabaseLogRetention",
        "ResourceProperties": {"ServiceToken": "arn:fn", "LogGroupNames": GROUPS, "RetentionInDays": "30"}, **extra,
    }  # fmt: skip


def retentions(logs) -> dict:
    return {g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups(logGroupNamePrefix="/aws/rds/")["logGroups"]}


def test_create_makes_missing_groups_and_sets_retention_on_existing_ones(ec2, answers):
    url, received = answers
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=GROUPS[1])  # RDS already wrote the error log
    result = retention.handler(retention_event("Create", url), None)
    assert retentions(logs) == {GROUPS[0]: 30, GROUPS[1]: 30}
    assert result["created"] == [GROUPS[0]]
    (answer,) = received
    assert answer["Status"] == "SUCCESS" and answer["LogicalResourceId"] == "DatabaseLogRetention"


def test_update_sets_the_new_retention_and_delete_keeps_the_groups(ec2, answers):
    url, received = answers
    logs = boto3.client("logs")
    retention.handler(retention_event("Create", url), None)
    physical = received[0]["PhysicalResourceId"]
    update = retention_event("Update", url, PhysicalResourceId=physical)
    update["ResourceProperties"]["RetentionInDays"] = "7"
    retention.handler(update, None)
    retention.handler(retention_event("Delete", url, PhysicalResourceId=physical), None)
    assert retentions(logs) == {GROUPS[0]: 7, GROUPS[1]: 7}
    assert [a["Status"] for a in received] == ["SUCCESS"] * 3 and {a["PhysicalResourceId"] for a in received} == {physical}


def test_a_failure_is_answered_as_failed_never_raised(ec2, answers):
    url, received = answers
    bad = retention_event("Create", url)
    del bad["ResourceProperties"]["RetentionInDays"]
    assert retention.handler(bad, None)["status"] == "FAILED"
    assert received[0]["Status"] == "FAILED" and "RetentionInDays" in received[0]["Reason"]
