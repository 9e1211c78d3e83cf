"""Privilege by tagging: a tag the launch role can set must never unlock a resource it did not
create, and the permissions boundary must not let a product role read another's secrets.

Written from the attack: tag an untagged foreign secret, KMS key, security group, load balancer
or certificate with this product's Name, then use it. Evaluated statement by statement with
tests/policy_eval.py on the compiled catalog and bootstrap templates. AWS facts used:
- EC2 sets `ec2:CreateAction` on a CreateTags only when tags are given in the create request
  (docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html);
- CreateKey's Tags need kms:TagResource on all keys (docs.aws.amazon.com/kms/latest/developerguide/tag-permissions.html),
  so a Name on a key proves nothing;
- tags with the `aws:` prefix are set only by AWS (CloudFormation's `aws:cloudformation:*`);
- RDS names the master secret `rds!db-<uuid>`; CloudFormation names an unnamed secret `<LogicalId>-<random>`.
"""

from __future__ import annotations

import pytest
from cfn_flip import load_yaml

from tests.policy_eval import ACCOUNT, REGION, Policy, resolve

A = f"{REGION}:{ACCOUNT}"
OUR_NAME = {"aws:RequestTag/Name": "student-enrollment-production-x", "aws:TagKeys": ["Name"]}
NAMED_OURS = {"aws:ResourceTag/Name": "student-enrollment-production-x"}
SC = f"SC-{ACCOUNT}-pp-abcdefghijk"

FOREIGN_SECRET = f"arn:aws:secretsmanager:{A}:secret:billing/stripe-key-AbCdEf"
FOREIGN_KEY = f"arn:aws:kms:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FOREIGN_SG = f"arn:aws:ec2:{A}:security-group/sg-0foreign"
FOREIGN_LB = f"arn:aws:elasticloadbalancing:{A}:loadbalancer/app/billing/50dc6c495c0c9188"
FOREIGN_CERT = f"arn:aws:acm:{A}:certificate/0f1e2d3c-aaaa-bbbb-cccc-111122223333"
OUR_SECRET = f"arn:aws:secretsmanager:{A}:secret:AppSecret-a1b2c3d4e5f6-AbCdEf"
RDS_SECRET = f"arn:aws:secretsmanager:{A}:secret:rds!db-0a1b2c3d-4e5f-6789-abcd-ef0123456789-AbCdEf"


@pytest.fixture(scope="module")
def launch(compiled) -> Policy:
    template = load_yaml(compiled["catalog"].text)
    resources = template["Resources"]
    props = resources["LaunchRole"]["Properties"]
    docs = [resources[ref["Ref"]]["Properties"]["PolicyDocument"] for ref in props["ManagedPolicyArns"]]
    return Policy([resolve(s, {"ArtifactBucketName": "artifacts"}) for d in docs for s in d["Statement"]])


@pytest.fixture(scope="module")
def boundary(compiled) -> Policy:
    doc = load_yaml(compiled["bootstrap"].text)["Resources"]["PermissionsBoundary"]["Properties"]["PolicyDocument"]
    return Policy([resolve(s, {}) for s in doc["Statement"]])


# ---- step 1: the role cannot put this product's Name on what it did not create -----------------

@pytest.mark.parametrize("action, resource", [
    ("ec2:CreateTags", FOREIGN_SG),
    ("ec2:CreateTags", f"arn:aws:ec2:{A}:vpc/vpc-0foreign"),
    ("elasticloadbalancing:AddTags", FOREIGN_LB),
    ("secretsmanager:TagResource", FOREIGN_SECRET),
])  # fmt: skip
def test_an_existing_untagged_resource_cannot_be_named_ours(launch, action, resource):
    assert not launch.allows(action, resource, OUR_NAME)


# ---- step 2: and a Name the role could set (KMS, ACM take tags on all) unlocks nothing ----------

@pytest.mark.parametrize("action", ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:UntagResource"])
def test_a_foreign_key_named_ours_stays_out_of_reach(launch, action):
    assert not launch.allows(action, FOREIGN_KEY, NAMED_OURS)
    # even carrying CloudFormation's tags of a stack that is not a Service Catalog one of these templates
    made_elsewhere = {**NAMED_OURS, "aws:ResourceTag/aws:cloudformation:stack-name": "billing-prod", "aws:ResourceTag/aws:cloudformation:logical-id": "AlarmTopicKey"}
    assert not launch.allows(action, FOREIGN_KEY, made_elsewhere)


@pytest.mark.parametrize("action", ["acm:DeleteCertificate", "acm:UpdateCertificateOptions"])
def test_a_foreign_certificate_named_ours_stays_out_of_reach(launch, action):
    assert not launch.allows(action, FOREIGN_CERT, NAMED_OURS)


@pytest.mark.parametrize("action", ["secretsmanager:GetSecretValue", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret",
                                    "secretsmanager:PutResourcePolicy"])
def test_a_foreign_secret_named_ours_stays_out_of_reach(launch, action):
    assert not launch.allows(action, FOREIGN_SECRET, NAMED_OURS)


def test_a_tag_request_outside_creation_or_with_foreign_tag_keys_is_refused(launch):
    sg_at_create = {"ec2:CreateAction": "CreateSecurityGroup", **OUR_NAME}
    assert launch.allows("ec2:CreateTags", FOREIGN_SG.replace("0foreign", "0new"), sg_at_create)
    assert not launch.allows("ec2:CreateTags", FOREIGN_SG, {**sg_at_create, "aws:TagKeys": ["Name", "access-team"]})
    assert not launch.allows("ec2:CreateTags", FOREIGN_SG, {**sg_at_create, "ec2:CreateAction": "ImportImage"})


# ---- the boundary caps product roles to the product's secrets ----------------------------------

def test_a_boundary_capped_role_cannot_read_another_secret_of_the_account(boundary):
    for foreign in (FOREIGN_SECRET, f"arn:aws:secretsmanager:{A}:secret:prod/billing/db-AbCdEf", f"arn:aws:secretsmanager:{A}:secret:AppSecretX-AbCdEf"):
        assert not boundary.allows("secretsmanager:GetSecretValue", foreign), foreign


def test_the_boundary_admits_the_products_own_secrets(boundary):
    assert boundary.allows("secretsmanager:GetSecretValue", OUR_SECRET)
    # the database's RDS-managed secret cannot be told from another database's (README, Security)
    assert boundary.allows("secretsmanager:GetSecretValue", RDS_SECRET)


# ---- the product still provisions -------------------------------------------------------------

CFN_TAGS = {"aws:ResourceTag/aws:cloudformation:stack-name": f"{SC}-MonitoringStack-1ABC"}


@pytest.mark.parametrize("action, resource, context", [
    ("ec2:CreateSecurityGroup", f"arn:aws:ec2:{A}:security-group/sg-0new", {}),
    ("ec2:CreateTags", f"arn:aws:ec2:{A}:security-group/sg-0new", {"ec2:CreateAction": "CreateSecurityGroup", **OUR_NAME}),
    ("ec2:AuthorizeSecurityGroupIngress", f"arn:aws:ec2:{A}:security-group/sg-0ours", NAMED_OURS),
    ("elasticloadbalancing:AddTags", FOREIGN_LB.replace("billing", "new"), {"elasticloadbalancing:CreateAction": "CreateLoadBalancer", **OUR_NAME}),
    ("kms:CreateKey", "*", {}),
    ("kms:TagResource", "*", OUR_NAME),
    ("kms:PutKeyPolicy", FOREIGN_KEY, {**NAMED_OURS, **CFN_TAGS, "aws:ResourceTag/aws:cloudformation:logical-id": "AlarmTopicKey"}),
    ("kms:ScheduleKeyDeletion", FOREIGN_KEY, {**NAMED_OURS, **CFN_TAGS, "aws:ResourceTag/aws:cloudformation:logical-id": "AlarmTopicKey"}),
    ("acm:DeleteCertificate", FOREIGN_CERT, {**NAMED_OURS, "aws:ResourceTag/aws:cloudformation:stack-name": f"{SC}-LoadBalancerStack-1",
                                             "aws:ResourceTag/aws:cloudformation:logical-id": "Certificate"}),
    ("secretsmanager:CreateSecret", OUR_SECRET, {}),
    ("secretsmanager:TagResource", OUR_SECRET, OUR_NAME),
    ("secretsmanager:UpdateSecret", OUR_SECRET, {}),
    ("secretsmanager:DeleteSecret", OUR_SECRET, {}),
])  # fmt: skip
def test_the_products_own_resources_are_still_provisioned(launch, action, resource, context):
    assert launch.allows(action, resource, context)
