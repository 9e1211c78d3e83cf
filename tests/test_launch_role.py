"""The Service Catalog launch role in build/catalog.yaml grants exactly what provisioning the product
in build/ needs: the actions of every resource type present, nothing for types absent."""

from __future__ import annotations

import json

import pytest
from cfn_flip import load_yaml

from enrollcfn.compiler import BUILD_DIR
from enrollcfn.config import Config
from enrollcfn.errors import CompileError
from templates import NESTED, ROOT, catalog
from templates._launch_actions import RESOURCE_ACTIONS

PRODUCT = [ROOT, *(s.name for s in NESTED)]


def _load(name: str) -> dict:
    return load_yaml((BUILD_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def product_types() -> set[str]:
    return {r["Type"] for name in PRODUCT for r in _load(name)["Resources"].values()}


@pytest.fixture(scope="module")
def statements() -> list[dict]:
    (role,) = _load("catalog")["Resources"].values()
    (policy,) = role["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def test_granted_actions_are_exactly_those_of_the_resource_types_in_build(product_types, statements):
    granted = {a for s in statements if s["Sid"] != "ReadPackagedTemplates" for a in s["Action"]}
    assert granted == set(catalog.launch_actions(product_types))
    base = set(catalog.launch_actions([]))
    needed = base | {a for t in product_types for a in RESOURCE_ACTIONS[t]}
    assert granted == needed  # every type present is covered, and nothing is granted beyond them


def test_types_outside_the_product_grant_nothing(product_types, statements):
    granted = {a for s in statements for a in s["Action"]}
    absent = set(RESOURCE_ACTIONS) - product_types
    assert "AWS::ECR::Repository" in absent  # the bootstrap stack is not part of the product
    needed_by_present = {a for t in product_types for a in RESOURCE_ACTIONS[t]} | set(catalog.launch_actions([]))
    for rtype in absent:
        extra = set(RESOURCE_ACTIONS[rtype]) - needed_by_present
        assert not extra & granted, (rtype, sorted(extra & granted))


def test_a_resource_type_without_a_table_entry_is_a_compile_error_naming_it():
    with pytest.raises(CompileError, match="AWS::Foo::Bar has no entry"):
        catalog.build(Config(), {"AWS::EC2::VPC", "AWS::Foo::Bar"})


def test_table_covers_the_redeploy_and_monitoring_resource_types():
    later = {
        "AWS::Lambda::Function", "AWS::Lambda::Permission", "AWS::Events::Rule", "AWS::SQS::Queue", "AWS::SQS::QueuePolicy",
        "AWS::SNS::Topic", "AWS::SNS::Subscription", "AWS::CloudWatch::Alarm", "AWS::Budgets::Budget", "AWS::Logs::LogGroup",
    }  # fmt: skip
    assert later <= set(RESOURCE_ACTIONS)


def test_templates_are_readable_only_below_the_artifact_prefix(statements):
    (read,) = [s for s in statements if s["Sid"] == "ReadPackagedTemplates"]
    assert read["Action"] == ["s3:GetObject"]
    assert read["Resource"][0]["Fn::Sub"][0].endswith(f":s3:::${{ArtifactBucketName}}/{catalog.ARTIFACT_PREFIX}/*")
    assert all(a != "s3:GetObject" for s in statements if s is not read for a in s["Action"])


def test_no_wildcard_action_no_managed_policy_and_stacks_limited_to_service_catalog_ones(statements):
    (role,) = _load("catalog")["Resources"].values()
    assert "ManagedPolicyArns" not in role["Properties"]  # never *FullAccess
    assert all(not a.endswith("*") for s in statements for a in s["Action"])
    (stack,) = [s for s in statements if s["Sid"] == "Cloudformation"]
    assert [r["Fn::Sub"] for r in stack["Resource"]] == ["arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/SC-*"]


def test_policy_fits_the_inline_policy_quota(statements):
    # IAM allows 10,240 characters of inline policy per role (whitespace not counted).
    assert len(json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))) < 10_240
