"""Launching in another account of the organization: CloudFormation there reads the nested
templates from this account's artifact bucket as that account's launch role. A cross-account read
needs both the caller's identity policy and the bucket policy to allow it (IAM policy evaluation,
cross-account requests), so both compiled templates are evaluated here (tests/policy_eval.py)."""

from __future__ import annotations

import re

import botocore.session
import pytest
from cfn_flip import load_yaml

from enrollcfn.compiler import compile
from enrollcfn.config import Config
from enrollcfn.errors import ConfigErrors
from tests.conftest import resources_of
from tests.policy_eval import Policy, resolve

ORGANIZATION = "o-abcdefghij"
HUB_BUCKET = "hub-artifacts"
CONSUMER = "444455556666"
# The default config's launch role, written out: <project>-<environment>-launch in every account.
LAUNCH_ROLE = f"arn:aws:iam::{CONSUMER}:role/student-enrollment-production-launch"
KEY = f"arn:aws:s3:::{HUB_BUCKET}/templates/service-0123456789abcdef.yaml"
TLS = {"aws:SecureTransport": "true"}


@pytest.fixture(scope="module")
def shared():
    return compile(Config(catalog={"organization_id": ORGANIZATION}))


def _bucket_policy(build) -> Policy:
    (policy,) = resources_of(load_yaml(build["bootstrap"].text), "AWS::S3::BucketPolicy").values()
    doc = resolve(policy["Properties"]["PolicyDocument"], {"ArtifactBucket.Arn": f"arn:aws:s3:::{HUB_BUCKET}", "PublisherArns": [""]},
                  {"HasPublisherArns": False})
    return Policy(doc["Statement"])


def _consumer_role(build) -> Policy:
    """The consumer's launch role: the same catalog template, deployed there with the hub's bucket."""
    resources = load_yaml(build["catalog"].text)["Resources"]
    refs = resources["LaunchRole"]["Properties"]["ManagedPolicyArns"]
    docs = [resources[r["Ref"]]["Properties"]["PolicyDocument"] for r in refs]
    return Policy([resolve(s, {"ArtifactBucketName": HUB_BUCKET}) for d in docs for s in d["Statement"]])


def _caller(arn: str, org: str = ORGANIZATION) -> dict:
    return {**TLS, "aws:PrincipalArn": arn, "aws:PrincipalOrgID": org}


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:GetObjectVersion"])
def test_a_consumer_launch_role_reads_the_hubs_templates(shared, action):
    assert _bucket_policy(shared).decide(action, KEY, _caller(LAUNCH_ROLE)) == "allow"
    assert _consumer_role(shared).allows(action, KEY)


def test_only_that_role_name_in_that_organization_reads_and_only_templates(shared):
    policy = _bucket_policy(shared)
    assert policy.decide("s3:GetObject", KEY, _caller(f"arn:aws:iam::{CONSUMER}:role/Developers")) == "implicit"
    assert policy.decide("s3:GetObject", KEY, _caller(LAUNCH_ROLE, org="o-zzzzzzzzzz")) == "implicit"
    assert policy.decide("s3:GetObject", KEY, {**TLS, "aws:PrincipalArn": LAUNCH_ROLE}) == "implicit"  # no organization
    assert policy.decide("s3:GetObject", f"arn:aws:s3:::{HUB_BUCKET}/other/x", _caller(LAUNCH_ROLE)) == "implicit"
    assert policy.decide("s3:PutObject", KEY, _caller(LAUNCH_ROLE)) == "deny"  # publishers write, no one else
    assert policy.decide("s3:GetObject", KEY, {**_caller(LAUNCH_ROLE), "aws:SecureTransport": "false"}) == "deny"


def test_without_an_organization_no_other_account_reads(compiled):
    policy = _bucket_policy(compiled)
    assert all(s["Effect"] == "Deny" for s in policy.statements)  # the owner's own IAM policies decide alone
    assert policy.decide("s3:GetObject", KEY, _caller(LAUNCH_ROLE)) == "implicit"


@pytest.mark.parametrize("value", ["o-abcdefghij", "o-" + "a1" * 16, "o-abc", "O-ABCDEFGHIJ", "ou-ab12-cdef3456", "o-" + "a" * 33, "o-abcdefghij "])
def test_the_organization_id_is_what_organizations_accepts(value):
    shape = botocore.session.get_session().get_component("data_loader").load_service_model("organizations", "service-2")["shapes"]["OrganizationId"]
    if re.fullmatch(shape["pattern"].strip("^$"), value):
        assert Config(catalog={"organization_id": value}).catalog.organization_id == value
        return
    with pytest.raises(ConfigErrors) as err:
        Config(catalog={"organization_id": value})
    (problem,) = err.value.problems
    assert problem.key == "catalog.organization_id" and "is not an organization id" in problem.message
