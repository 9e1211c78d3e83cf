"""Which digest a deploy passes as ImageDigest, against botocore's Stubber (requests and
responses checked against the real ECR and ECS service models)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from enrollcfn.config import Config
from enrollcfn.changesets import DeployError
from enrollcfn.images import digest_of, digest_to_deploy, running_digest

CFG = Config()
REPO = CFG.registry.repository_name
URI = f"123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/{REPO}"
A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
SERVICE_ARN = "arn:aws:ecs:ap-southeast-2:123456789012:service/student-enrollment-production/student-enrollment-production"
TD = "arn:aws:ecs:ap-southeast-2:123456789012:task-definition/app:7"


def clients():
    ecr = boto3.client("ecr", region_name="ap-southeast-2", aws_access_key_id="x", aws_secret_access_key="x")
    ecs = boto3.client("ecs", region_name="ap-southeast-2", aws_access_key_id="x", aws_secret_access_key="x")
    return ecr, Stubber(ecr), ecs, Stubber(ecs)


def expect_image(stub, tag, digest):
    stub.add_response("describe_images", {"imageDetails": [{"imageDigest": digest, "imageTags": [tag]}]},
                      {"repositoryName": REPO, "imageIds": [{"imageTag": tag}]})  # fmt: skip


def expect_service(stub, image, status="ACTIVE"):
    stub.add_response("describe_services", {"services": [{"serviceArn": SERVICE_ARN, "status": status, "taskDefinition": TD}], "failures": []},
                      {"cluster": CFG.cluster.name, "services": [CFG.service.name]})  # fmt: skip
    if status == "ACTIVE":
        stub.add_response("describe_task_definition", {"taskDefinition": {"taskDefinitionArn": TD, "containerDefinitions": [{"name": REPO, "image": image}]}},
                          {"taskDefinition": TD})  # fmt: skip


def test_a_named_tag_wins_over_what_runs():
    ecr, ecr_stub, ecs, ecs_stub = clients()
    expect_image(ecr_stub, "release-3", B)
    with ecr_stub, ecs_stub:
        assert digest_to_deploy(ecr, ecs, CFG, tag="release-3") == B
    ecs_stub.assert_no_pending_responses()


def test_without_a_tag_the_running_digest_is_kept():
    """A push-deployed digest survives the next deploy instead of being rolled back."""
    ecr, ecr_stub, ecs, ecs_stub = clients()
    expect_service(ecs_stub, f"{URI}@{A}")
    with ecr_stub, ecs_stub:
        assert digest_to_deploy(ecr, ecs, CFG) == A
    ecs_stub.assert_no_pending_responses()


@pytest.mark.parametrize("image, status", [(f"{URI}:latest", "ACTIVE"), (None, "INACTIVE")], ids=["service runs a tag", "service inactive"])
def test_otherwise_the_config_tag_is_resolved(image, status):
    ecr, ecr_stub, ecs, ecs_stub = clients()
    expect_service(ecs_stub, image, status)
    expect_image(ecr_stub, CFG.service.image_tag, B)
    with ecr_stub, ecs_stub:
        assert digest_to_deploy(ecr, ecs, CFG) == B


def test_first_deploy_without_a_cluster_resolves_the_config_tag():
    ecr, ecr_stub, ecs, ecs_stub = clients()
    ecs_stub.add_client_error("describe_services", "ClusterNotFoundException", "Cluster not found.")
    expect_image(ecr_stub, CFG.service.image_tag, A)
    with ecr_stub, ecs_stub:
        assert running_digest(ecs, CFG.cluster.name, CFG.service.name, REPO) is None
        assert digest_of(ecr, REPO, CFG.service.image_tag) == A


@pytest.mark.parametrize("code", ["ImageNotFoundException", "RepositoryNotFoundException"])
def test_a_missing_image_is_one_keyed_error(code):
    ecr, ecr_stub, _, _ = clients()
    ecr_stub.add_client_error("describe_images", code, "not found")
    with ecr_stub, pytest.raises(DeployError) as caught:
        digest_of(ecr, REPO, "release-9", key="--image-tag")
    assert caught.value.key == "--image-tag" and f"{REPO}:release-9" in caught.value.message


def test_other_ecr_errors_are_not_hidden():
    ecr, ecr_stub, _, _ = clients()
    ecr_stub.add_client_error("describe_images", "AccessDeniedException", "no")
    with ecr_stub, pytest.raises(Exception, match="AccessDenied"):
        digest_of(ecr, REPO, "latest")
