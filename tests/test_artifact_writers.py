"""Who may write what in the artifact bucket: the pull requests' plan role writes only below
plans/, which no deploy, publish or launch reads; the delivery role writes the templates a deploy
runs. Evaluated from the compiled delivery and bootstrap templates with tests/policy_eval.py."""

from __future__ import annotations

import contextlib
import io

import pytest
import yaml
from cfn_flip import load_yaml

from enrollcfn.cli import main
from tests.policy_eval import ACCOUNT, Policy, resolve

BUCKET = "artifacts"
DELIVERY = {"enabled": True, "repository": "acme/enrollment-api", "branch": "main", "release": "deploy", "execution_role_name": "acme-cfn-exec"}
PLAN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/student-enrollment-production-plan"
DELIVERY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/student-enrollment-production-delivery"
TEMPLATE_KEY = f"arn:aws:s3:::{BUCKET}/templates/service-0123456789abcdef.yaml"
PLAN_KEY = f"arn:aws:s3:::{BUCKET}/plans/service-0123456789abcdef.yaml"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("writers")
    (root / "c.yaml").write_text(yaml.safe_dump({"delivery": DELIVERY}))
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["build", "--config", str(root / "c.yaml"), "--out", str(root / "out")]) == 0
    return {n: load_yaml((root / "out" / f"{n}.yaml").read_text()) for n in ("delivery", "bootstrap")}


def _role(built, logical_id: str) -> Policy:
    props = built["delivery"]["Resources"][logical_id]["Properties"]
    refs = {"ArtifactBucketName": BUCKET, "RootStackName": "se-prod"}
    return Policy([resolve(s, refs) for p in props["Policies"] for s in p["PolicyDocument"]["Statement"]])


def _bucket_policy(built) -> Policy:
    doc = built["bootstrap"]["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]
    refs = {"ArtifactBucket": BUCKET, "ArtifactBucket.Arn": f"arn:aws:s3:::{BUCKET}", "PublisherArns": [""]}
    return Policy(resolve(doc["Statement"], refs, {"HasPublisherArns": False}))


def test_the_plan_role_writes_only_below_plans(built):
    plan = _role(built, "PlanRole")
    assert plan.allows("s3:PutObject", PLAN_KEY) and plan.allows("s3:GetObject", PLAN_KEY)
    assert not plan.allows("s3:PutObject", TEMPLATE_KEY)


def test_the_bucket_policy_denies_the_plan_role_every_write_outside_plans_whatever_its_own_policy_says(built):
    bucket = _bucket_policy(built)
    tagged = {"aws:PrincipalTag/student-enrollment-production-publisher": "true", "aws:SecureTransport": "true"}
    plan = {**tagged, "aws:PrincipalArn": PLAN_ROLE}
    for action in ("s3:PutObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging"):
        assert bucket.decide(action, TEMPLATE_KEY, plan) == "deny", action
    assert bucket.decide("s3:PutBucketPolicy", f"arn:aws:s3:::{BUCKET}", plan) == "deny"
    assert bucket.decide("s3:PutObject", PLAN_KEY, plan) != "deny"
    assert bucket.decide("s3:PutObject", TEMPLATE_KEY, {**tagged, "aws:PrincipalArn": DELIVERY_ROLE}) != "deny"


def test_the_delivery_role_writes_the_templates_a_deploy_runs(built):
    assert _role(built, "DeliveryRole").allows("s3:PutObject", TEMPLATE_KEY)
