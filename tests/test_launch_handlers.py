"""Every permission CloudFormation's resource handlers list for the product's resource types is
granted by the compiled launch role, or recorded in NOT_NEEDED with its reason.

The facts come from cfn-lint's bundled provider schemas (`handlers.create/update/delete
.permissions` of each type, for the config's region), read here and never at build time."""

from __future__ import annotations

import json
from pathlib import Path

import cfnlint
import pytest
from cfn_flip import load_yaml

from enrollcfn.templates import NESTED, ROOT
from enrollcfn.templates._launch_actions import AUTHORIZED_AS, NOT_NEEDED, RESOURCE_ACTIONS
from tests.policy_eval import Policy, resolve

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"
HANDLERS = ("create", "update", "delete")


def _schema(region: str, rtype: str) -> dict:
    """The bundled provider schema of `rtype` in `region` (providers/<region>.json names its file)."""
    index = json.loads((SCHEMAS / "providers" / f"{region}.json").read_text(encoding="utf-8"))
    assert rtype in index, f"{rtype} is not in cfn-lint's bundled schemas for {region}"
    return json.loads((SCHEMAS / "resources" / f"{index[rtype]}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def product_types(rendered) -> set[str]:
    """The resource types of the root and its nested stacks, read from the compiled YAML."""
    return {r["Type"] for name in (ROOT, *(s.name for s in NESTED)) for r in rendered[name]["Resources"].values()}


@pytest.fixture(scope="module")
def handler_permissions(product_types) -> dict[str, set[str]]:
    region = "ap-southeast-2"  # the seed's region (config/production.yaml)
    out = {}
    for rtype in sorted(product_types):
        if rtype.startswith("Custom::"):
            # A custom resource has no provider schema: CloudFormation invokes its ServiceToken
            # function with the caller's credentials (User Guide, "Lambda-backed custom resources").
            out[rtype] = {"lambda:InvokeFunction"}
            continue
        handlers = _schema(region, rtype).get("handlers", {})
        out[rtype] = {p for h in HANDLERS for p in handlers.get(h, {}).get("permissions", [])}
        assert out[rtype], f"{rtype}: the bundled schema lists no handler permissions"
    return out


@pytest.fixture(scope="module")
def role(compiled) -> Policy:
    t = load_yaml(compiled["catalog"].text)
    docs = [r["Properties"]["PolicyDocument"] for r in t["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    return Policy([resolve(s, {"ArtifactBucketName": "artifacts"}) for d in docs for s in d["Statement"]])


def test_the_product_has_the_resource_types_the_seed_inventory_names(product_types):
    # A floor, not the list: the seed's ECS service, ALB, RDS, VPC and Lambda redeploy are present.
    assert {"AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::RDS::DBInstance", "AWS::EC2::VPC", "AWS::Lambda::Function"} <= product_types


def test_every_handler_permission_is_granted_or_recorded_as_not_needed(handler_permissions, role):
    missing = {
        rtype: sorted(p for p in perms if not role.grants_action(p) and p not in NOT_NEEDED.get(rtype, {}))
        for rtype, perms in handler_permissions.items()
    }
    assert not {k: v for k, v in missing.items() if v}, "grant these (scoped) or record why each is not needed in NOT_NEEDED"


def test_not_needed_entries_are_real_handler_permissions_and_really_not_granted(handler_permissions, role):
    assert set(NOT_NEEDED) <= set(RESOURCE_ACTIONS)
    for rtype, entries in NOT_NEEDED.items():
        listed = handler_permissions.get(rtype)
        if listed is None:
            continue  # a type this config does not use
        for action, reason in entries.items():
            assert action in listed, f"{rtype}: {action} is not a handler permission of the type (stale entry)"
            assert not role.grants_action(action), f"{rtype}: {action} is recorded as not needed but granted"
            assert len(reason) >= 30 and reason != action, f"{rtype}: {action} needs a specific reason"


def test_api_names_map_to_iam_actions_that_are_granted_or_recorded(handler_permissions, role):
    s3 = handler_permissions["AWS::S3::Bucket"]
    for api, action in AUTHORIZED_AS.items():
        assert api in s3, api
        assert role.grants_action(action) or action in NOT_NEEDED["AWS::S3::Bucket"], (api, action)


def test_the_role_grants_no_service_outside_the_products_types(product_types, role):
    services = {a.split(":")[0] for t in product_types for a in RESOURCE_ACTIONS[t]} | {"s3"}  # s3: reading templates
    granted = {a.split(":")[0] for s in role.statements if s["Effect"] == "Allow" for a in s["Action"]}
    assert granted <= services, sorted(granted - services)
    assert "ecr" not in granted  # the repository belongs to the bootstrap stack, not the product
