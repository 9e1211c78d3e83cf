"""The Service Catalog launch role, read from the compiled catalog template and evaluated statement
by statement (tests/policy_eval.py): it provisions this product and cannot escalate or reach
another product's resources. Names below are the seed's (project student-enrollment, environment
production, cluster student-enrollment-production), written out rather than taken from the code."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from cfn_flip import load_yaml

from enrollcfn.config import Config
from enrollcfn.errors import CompileError
from enrollcfn.templates import catalog
from tests.policy_eval import ACCOUNT, REGION, Policy, resolve

A = f"{REGION}:{ACCOUNT}"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/student-enrollment-production-boundary"
OUR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/student-enrollment/production/SC-{ACCOUNT}-pp-abc-ServiceStack-1-TaskRole-2"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/billing/staging/SC-{ACCOUNT}-pp-xyz-TaskRole-3"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
MONITORING = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
OURS = {"aws:ResourceTag/Name": "student-enrollment-production-vpc"}
THEIRS = {"aws:ResourceTag/Name": "billing-staging-vpc"}


@pytest.fixture(scope="module")
def catalog_template(compiled) -> dict:
    return load_yaml(compiled["catalog"].text)


@pytest.fixture(scope="module")
def role(catalog_template) -> Policy:
    """Every statement of every policy the launch role carries, with a fake account resolved."""
    resources = catalog_template["Resources"]
    props = resources["LaunchRole"]["Properties"]
    docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
    docs += [resources[ref["Ref"]]["Properties"]["PolicyDocument"] for ref in props.get("ManagedPolicyArns", [])]
    return Policy([resolve(s, {"ArtifactBucketName": "artifacts"}) for d in docs for s in d["Statement"]])


# ---- no escalation through IAM --------------------------------------------------------------


def test_roles_are_created_only_under_the_product_path_and_with_its_boundary(role):
    assert role.allows("iam:CreateRole", OUR_ROLE, {"iam:PermissionsBoundary": BOUNDARY})
    assert role.decide("iam:CreateRole", OUR_ROLE) == "deny"  # no boundary
    assert role.decide("iam:CreateRole", OUR_ROLE, {"iam:PermissionsBoundary": ADMIN}) == "deny"
    assert not role.allows("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/SC-{ACCOUNT}-pp-abc-Admin", {"iam:PermissionsBoundary": BOUNDARY})
    assert not role.allows("iam:CreateRole", OTHER_ROLE, {"iam:PermissionsBoundary": BOUNDARY})


def test_the_boundary_cannot_be_removed_or_rewritten(role):
    assert role.decide("iam:DeleteRolePermissionsBoundary", OUR_ROLE) == "deny"
    assert role.decide("iam:PutRolePermissionsBoundary", OUR_ROLE, {"iam:PermissionsBoundary": ADMIN}) == "deny"
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
        assert role.decide(action, BOUNDARY) == "deny", action
    assert not role.allows("iam:CreatePolicy", f"arn:aws:iam::{ACCOUNT}:policy/anything")


def test_only_the_templates_managed_policy_is_attached_and_only_to_bounded_roles(role, rendered):
    product = [t for name, t in rendered.items() if name != "catalog"]
    attached = {a for t in product for r in t["Resources"].values() if r["Type"] == "AWS::IAM::Role"
                for a in resolve(r["Properties"].get("ManagedPolicyArns", []), {})}  # fmt: skip
    assert attached == {MONITORING}
    bounded = {"iam:PermissionsBoundary": BOUNDARY}
    assert role.allows("iam:AttachRolePolicy", OUR_ROLE, {**bounded, "iam:PolicyARN": MONITORING})
    assert not role.allows("iam:AttachRolePolicy", OUR_ROLE, {**bounded, "iam:PolicyARN": ADMIN})
    assert not role.allows("iam:AttachRolePolicy", OUR_ROLE, {"iam:PolicyARN": MONITORING})  # role without the boundary
    assert not role.allows("iam:PutRolePolicy", OUR_ROLE)  # inline policy on a role without the boundary
    assert role.allows("iam:PutRolePolicy", OUR_ROLE, bounded)


def test_roles_are_passed_only_to_the_services_the_templates_trust(role, rendered):
    trusted = {
        p for t in rendered.values() for r in t["Resources"].values() if r["Type"] == "AWS::IAM::Role" and "Path" in r["Properties"]
        for s in r["Properties"]["AssumeRolePolicyDocument"]["Statement"] for p in [s["Principal"]["Service"]]
    }  # fmt: skip
    # ecs.amazonaws.com: the traffic role ECS moves a progressive release's listener rules with
    assert trusted == {"ecs-tasks.amazonaws.com", "ecs.amazonaws.com", "lambda.amazonaws.com", "vpc-flow-logs.amazonaws.com", "monitoring.rds.amazonaws.com"}
    for service in trusted:
        assert role.allows("iam:PassRole", OUR_ROLE, {"iam:PassedToService": service}), service
    for service in ("ec2.amazonaws.com", "cloudformation.amazonaws.com", "glue.amazonaws.com"):
        assert not role.allows("iam:PassRole", OUR_ROLE, {"iam:PassedToService": service}), service
    assert not role.allows("iam:PassRole", OUR_ROLE)
    assert not role.allows("iam:PassRole", OTHER_ROLE, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not role.allows("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole", {"iam:PassedToService": "lambda.amazonaws.com"})


def test_service_linked_roles_only_for_the_services_that_make_them(role):
    slr = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
    assert role.allows("iam:CreateServiceLinkedRole", slr, {"iam:AWSServiceName": "ecs.amazonaws.com"})
    assert not role.allows("iam:CreateServiceLinkedRole", slr, {"iam:AWSServiceName": "organizations.amazonaws.com"})


def test_no_allow_names_a_wildcard_action(role):
    assert all(not a.endswith("*") for s in role.statements if s["Effect"] == "Allow" for a in s["Action"])


# ---- other products' resources ----------------------------------------------------------------

THEIRS_DENIED = [
    ("ecs:UpdateService", f"arn:aws:ecs:{A}:service/billing-cluster/billing-api", {}),
    ("ecs:DeleteCluster", f"arn:aws:ecs:{A}:cluster/billing-cluster", {}),
    ("logs:DeleteLogGroup", f"arn:aws:logs:{A}:log-group:/ecs/billing-api", {}),
    ("lambda:UpdateFunctionCode", f"arn:aws:lambda:{A}:function:billing-staging-redeploy", {}),
    ("rds:ModifyDBInstance", f"arn:aws:rds:{A}:db:billing-staging-db", {}),
    ("rds:DeleteDBInstance", f"arn:aws:rds:{A}:db:billing-staging-db", {}),
    ("s3:PutBucketPolicy", "arn:aws:s3:::billing-staging-uploads", {}),
    ("s3:DeleteBucket", "arn:aws:s3:::billing-staging-uploads", {}),
    ("kms:PutKeyPolicy", f"arn:aws:kms:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab", {"aws:ResourceTag/Name": "billing-staging-key"}),
    ("kms:ScheduleKeyDeletion", f"arn:aws:kms:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab", {}),
    ("kms:TagResource", "*", {"aws:RequestTag/Name": "billing-staging-key"}),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{A}:secret:BillingSecret-AbCdEf", {"aws:ResourceTag/Name": "billing-staging-secret"}),
    ("secretsmanager:DeleteSecret", f"arn:aws:secretsmanager:{A}:secret:BillingSecret-AbCdEf", {}),
    ("ec2:DeleteVpc", f"arn:aws:ec2:{A}:vpc/vpc-0abc", THEIRS),
    ("ec2:AuthorizeSecurityGroupIngress", f"arn:aws:ec2:{A}:security-group/sg-0abc", THEIRS),
    ("ec2:CreateRoute", f"arn:aws:ec2:{A}:route-table/rtb-0abc", THEIRS),
    ("ec2:CreateRoute", f"arn:aws:ec2:{A}:route-table/rtb-0def", {}),  # an untagged one, e.g. a default VPC's
    ("ec2:DeleteTags", f"arn:aws:ec2:{A}:vpc/vpc-0abc", THEIRS),
    ("elasticloadbalancing:DeleteLoadBalancer", f"arn:aws:elasticloadbalancing:{A}:loadbalancer/app/billing/50dc6c495c0c9188",
     {"aws:ResourceTag/Name": "billing-staging-alb"}),
    ("acm:DeleteCertificate", f"arn:aws:acm:{A}:certificate/0f1e2d3c", {"aws:ResourceTag/Name": "billing-staging-certificate"}),
    ("cloudformation:DeleteStack", f"arn:aws:cloudformation:{A}:stack/billing-staging/0a1b", {}),
    ("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/ZOTHERZONE000000000", {}),
]  # fmt: skip


@pytest.mark.parametrize("action, resource, context", THEIRS_DENIED, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(THEIRS_DENIED)])
def test_another_products_resources_are_out_of_reach(role, action, resource, context):
    assert not role.allows(action, resource, context)


def test_a_resource_of_another_product_cannot_be_renamed_ours(role):
    vpc = f"arn:aws:ec2:{A}:vpc/vpc-0abc"
    ours_requested = {"aws:RequestTag/Name": "student-enrollment-production-vpc"}
    assert not role.allows("ec2:CreateTags", vpc, {**THEIRS, **ours_requested})
    assert not role.allows("ec2:CreateTags", vpc, ours_requested)  # an existing untagged VPC: not made ours
    at_create = {**ours_requested, "ec2:CreateAction": "CreateVpc", "aws:TagKeys": ["Name"]}
    assert role.allows("ec2:CreateTags", vpc, at_create)  # a new VPC named ours in its CreateVpc request
    assert not role.allows("ec2:CreateTags", vpc, {**at_create, "aws:RequestTag/Name": "billing-staging-vpc"})


def test_the_database_master_secret_is_only_created_and_tagged(role):
    rds_secret = f"arn:aws:secretsmanager:{A}:secret:rds!db-0a1b2c3d-AbCdEf"
    assert role.allows("secretsmanager:CreateSecret", rds_secret) and role.allows("secretsmanager:TagResource", rds_secret)
    assert role.decide("secretsmanager:GetSecretValue", rds_secret, {"aws:ResourceTag/Name": "student-enrollment-production-x"}) == "deny"


# ---- what provisioning needs ------------------------------------------------------------------

SC = f"SC-{ACCOUNT}-pp-abcdefghijk"
OURS_ALLOWED = [
    ("cloudformation:CreateStack", f"arn:aws:cloudformation:{A}:stack/{SC}-NetworkStack-1ABC/0a1b", {}),
    ("ecs:CreateService", f"arn:aws:ecs:{A}:service/student-enrollment-production/student-enrollment-production", {}),
    ("ecs:UpdateService", f"arn:aws:ecs:{A}:service/student-enrollment-production/student-enrollment-production", {}),
    ("ecs:RegisterTaskDefinition", "*", {}),
    ("logs:CreateLogGroup", f"arn:aws:logs:{A}:log-group:/ecs/student-enrollment-production", {}),
    ("logs:PutRetentionPolicy", f"arn:aws:logs:{A}:log-group:{SC}-RedeployStack-1-FunctionLogGroup-2:*", {}),
    ("lambda:CreateFunction", f"arn:aws:lambda:{A}:function:{SC}-RedeployStack-1-Function-2", {}),
    ("rds:CreateDBInstance", [f"arn:aws:rds:{A}:db:{SC.lower()}-databasestack-1-database-2", f"arn:aws:rds:{A}:og:default:mysql-8-4",
                              f"arn:aws:rds:{A}:pg:{SC.lower()}-databasestack-1-databaseparametergroup-2",
                              f"arn:aws:rds:{A}:subgrp:{SC.lower()}-databasestack-1-databasesubnetgroup-2"], {}),
    ("s3:CreateBucket", f"arn:aws:s3:::{SC.lower()}-loadbalancerstack-1-accesslogbucket-2", {}),
    ("ec2:CreateVpc", f"arn:aws:ec2:{A}:vpc/vpc-0new", {}),
    ("ec2:CreateSubnet", [f"arn:aws:ec2:{A}:subnet/subnet-0new", f"arn:aws:ec2:{A}:vpc/vpc-0ours"], OURS),
    ("ec2:AuthorizeSecurityGroupIngress", [f"arn:aws:ec2:{A}:security-group/sg-0ours", f"arn:aws:ec2:{A}:security-group-rule/sgr-0new"], OURS),
    ("ec2:DeleteVpc", f"arn:aws:ec2:{A}:vpc/vpc-0ours", OURS),
    ("kms:CreateKey", "*", {}),
    ("kms:TagResource", "*", {"aws:RequestTag/Name": "student-enrollment-production-alarm-topic-key"}),  # CreateKey's Tags
    ("kms:EnableKeyRotation", f"arn:aws:kms:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab", {
        "aws:ResourceTag/Name": "student-enrollment-production-alarm-topic-key",
        "aws:ResourceTag/aws:cloudformation:stack-name": f"{SC}-MonitoringStack-1ABC", "aws:ResourceTag/aws:cloudformation:logical-id": "AlarmTopicKey"}),
    ("secretsmanager:UpdateSecret", f"arn:aws:secretsmanager:{A}:secret:AppSecret-AbCdEf", {"aws:ResourceTag/Name": "student-enrollment-production-app-secret"}),
    ("acm:RequestCertificate", "*", {}),
    ("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z0000000000000000000", {}),
    ("sns:CreateTopic", f"arn:aws:sns:{A}:{SC}-MonitoringStack-1-AlarmTopic-2", {}),
    ("cloudwatch:PutMetricAlarm", f"arn:aws:cloudwatch:{A}:alarm:TargetTracking-service/student-enrollment-production/student-enrollment-production-AlarmHigh-1", {}),
    ("iam:UpdateAssumeRolePolicy", OUR_ROLE, {}),
]  # fmt: skip


@pytest.mark.parametrize("action, resource, context", OURS_ALLOWED, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(OURS_ALLOWED)])
def test_provisioning_this_product_is_allowed(role, action, resource, context):
    assert role.allows(action, resource, context)


# ---- templates, trust, quotas -------------------------------------------------------------------


def test_templates_are_read_by_version_only_below_the_artifact_prefix(role):
    key = "arn:aws:s3:::artifacts/templates/service-0123456789abcdef.yaml"
    assert role.allows("s3:GetObjectVersion", key) and role.allows("s3:GetObject", key)
    assert not role.allows("s3:GetObjectVersion", "arn:aws:s3:::artifacts/lambda/code.zip")
    assert not role.allows("s3:PutObject", key) and not role.allows("s3:DeleteObjectVersion", key)
    assert not role.allows("s3:GetObject", "arn:aws:s3:::someone-elses/data.csv")
    copy = {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}  # Service Catalog's own copy
    assert role.allows("s3:GetObject", "arn:aws:s3:::cf-templates-owned-by-service-catalog/x", copy)


def test_trust_is_service_catalog_alone(catalog_template):
    (statement,) = catalog_template["Resources"]["LaunchRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "servicecatalog.amazonaws.com"} and statement["Action"] == ["sts:AssumeRole"]


def _iam_role_name_shape() -> dict:
    import botocore.session

    return botocore.session.get_session().get_component("data_loader").load_service_model("iam", "service-2")["shapes"]["roleNameType"]


def test_the_role_has_the_name_every_account_launches_with(catalog_template):
    # The launch constraint names the role by LocalRoleName, so its name is fixed and derived.
    props = catalog_template["Resources"]["LaunchRole"]["Properties"]
    assert props["RoleName"] == "student-enrollment-production-launch" and "Path" not in props


def _role_name(project: str, environment: str) -> str:
    """The launch role's name as the compiled catalog template holds it."""
    template = catalog.build(Config(project=project, environment=environment), {"AWS::EC2::VPC"}).to_dict()
    return template["Resources"]["LaunchRole"]["Properties"]["RoleName"]


# Slug allows 2-32 characters each: the longest is 32 + 1 + 32 + "-launch" = 72 characters.
@pytest.mark.parametrize("project, environment", [("p" * 32, "e" * 32), ("p" * 32, "e" * 25), ("ab", "cd"), ("student-enrollment", "production")])
def test_the_role_name_fits_iam_for_every_project_and_environment(project, environment):
    shape = _iam_role_name_shape()  # IAM CreateRole: RoleName 1-64 of [\w+=,.@-]
    name = _role_name(project, environment)
    assert shape["min"] <= len(name) <= shape["max"] and re.fullmatch(shape["pattern"], name)
    full = f"{project}-{environment}-launch"
    if len(full) <= shape["max"]:
        assert name == full  # a name that fits is left whole
    else:
        assert name.startswith(f"{project}-{environment}"[:50]) and len(name) == shape["max"]


def test_a_name_of_exactly_64_is_whole_and_one_of_65_is_cut():
    assert _role_name("p" * 32, "e" * 24) == f"{'p' * 32}-{'e' * 24}-launch"  # 64 characters
    assert len(_role_name("p" * 32, "e" * 25)) == 64 and not _role_name("p" * 32, "e" * 25).endswith("-launch")


def test_long_names_that_differ_only_past_the_cut_get_different_roles():
    a, b = _role_name("p" * 32, "e" * 31 + "a"), _role_name("p" * 32, "e" * 31 + "b")
    assert a != b and a[:55] == b[:55]


def test_each_policy_fits_iams_managed_policy_quota(catalog_template):
    # IAM: 6,144 characters per managed policy, whitespace not counted; 10 per role by default.
    policies = [r for r in catalog_template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert 1 <= len(policies) <= 10
    for p in policies:
        doc = resolve(p["Properties"]["PolicyDocument"], {"ArtifactBucketName": "a" * 63})
        assert len(json.dumps(doc, separators=(",", ":"))) <= 6_144


def test_a_resource_type_without_a_table_entry_is_a_compile_error_naming_it():
    with pytest.raises(CompileError, match="AWS::Foo::Bar has no entry"):
        catalog.build(Config(), {"AWS::EC2::VPC", "AWS::Foo::Bar"})


def test_building_the_role_does_not_import_cfn_lint():
    code = "import sys, enrollcfn.templates.catalog; from enrollcfn.config import Config; enrollcfn.templates.catalog.build(Config(), {'AWS::EC2::VPC'}); print('cfnlint' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
