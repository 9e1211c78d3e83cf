"""Adopting what `destroy` kept (adopt.py): the import request and template against the documented
API and rules, not against the module's own constants.

- CreateChangeSet: ChangeSetType takes IMPORT; ResourcesToImport items need ResourceType,
  LogicalResourceId and ResourceIdentifier (botocore's CloudFormation service model, checked by
  the Stubber's parameter validation).
- the ResourceIdentifier key is the type's primaryIdentifier (cfn-lint's bundled registry schemas).
- "Each resource to import must have a DeletionPolicy attribute"; an import adds only the resources
  it imports, and no Outputs (CloudFormation User Guide, resource-import.html; `cdk import`).
"""

from __future__ import annotations

import pytest
from botocore.stub import ANY

from enrollcfn import adopt
from enrollcfn import changesets as cs
from enrollcfn.changesets import DeployError, Target
from tests.conftest import resource_schema, stubbed


@pytest.fixture
def cfn():
    yield from stubbed("cloudformation")


@pytest.fixture
def ecr():
    yield from stubbed("ecr")


def test_the_identifier_is_the_registry_schemas_primary_identifier():
    for kind, prop in adopt.IDENTIFIERS.items():
        assert resource_schema(kind)["primaryIdentifier"] == [f"/properties/{prop}"]


def test_only_the_fixed_name_repository_of_the_bootstrap_can_collide(rendered):
    # the artifact bucket is kept too but has no BucketName: a new stack gets a new generated name
    boot = rendered["bootstrap"]["Resources"]
    assert "BucketName" not in boot["ArtifactBucket"]["Properties"] and boot["ArtifactBucket"]["DeletionPolicy"] == "Retain"
    assert adopt.candidates(rendered["bootstrap"]) == [("Repository", "AWS::ECR::Repository", boot["Repository"]["Properties"]["RepositoryName"])]


def test_the_import_template_holds_only_the_imported_resources_with_their_deletion_policy(rendered):
    doc = rendered["bootstrap"]
    kept = [adopt.Kept("Repository", "AWS::ECR::Repository", doc["Resources"]["Repository"]["Properties"]["RepositoryName"])]
    body = adopt.import_template(doc, kept)
    assert set(body["Resources"]) == {"Repository"} and "Outputs" not in body
    assert body["Resources"]["Repository"] == doc["Resources"]["Repository"]  # the update after it finds it unchanged
    assert all("DeletionPolicy" in r for r in body["Resources"].values())


def test_the_import_change_set_request_fits_the_api(cfn):
    model = cfn.meta.service_model.operation_model("CreateChangeSet").input_shape.members
    assert "IMPORT" in model["ChangeSetType"].enum
    assert set(model["ResourcesToImport"].member.required_members) == {"ResourceType", "LogicalResourceId", "ResourceIdentifier"}
    kept = adopt.Kept("Repository", "AWS::ECR::Repository", "se-dev")
    request = [{"ResourceType": "AWS::ECR::Repository", "LogicalResourceId": "Repository", "ResourceIdentifier": {"RepositoryName": "se-dev"}}]
    cfn.stub.add_response("create_change_set", {"Id": "arn:cs", "StackId": "arn:stack"}, {
        "StackName": "se-dev-bootstrap", "ChangeSetName": ANY, "ChangeSetType": "IMPORT", "ClientToken": ANY, "ResourcesToImport": request,
        "Capabilities": [], "Parameters": [], "Tags": [{"Key": "project", "Value": "p"}], "Description": ANY, "TemplateBody": "{}"})
    assert cs.create_change_set(cfn, Target("se-dev-bootstrap", template_body="{}", capabilities=()), "IMPORT", {"project": "p"}, [kept.request()]) == "arn:cs"


def _repository(ecr, tags, images=2):
    arn = "arn:aws:ecr:ap-southeast-2:123456789012:repository/se-dev"
    ecr.stub.add_response("describe_repositories", {"repositories": [{"repositoryName": "se-dev", "repositoryArn": arn}]},
                          {"repositoryNames": ["se-dev"]})
    ecr.stub.add_response("list_tags_for_resource", {"tags": [{"Key": k, "Value": v} for k, v in tags.items()]}, {"resourceArn": arn})
    ecr.stub.add_response("list_images", {"imageIds": [{"imageDigest": f"sha256:{i:064d}"} for i in range(images)]}, {"repositoryName": "se-dev"})


DOC = {"Resources": {"Repository": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Retain", "Properties": {"RepositoryName": "se-dev"}}}}
OURS = {"project": "p", "environment": "dev"}


def test_a_kept_repository_of_this_environment_is_adopted_with_its_image_count(cfn, ecr):
    _repository(ecr, {**OURS, "aws:cloudformation:stack-name": "se-dev-bootstrap"})
    cfn.stub.add_client_error("describe_stack_resources", "ValidationError", "Stack for se-dev does not exist", expected_params={"PhysicalResourceId": "se-dev"})
    [kept] = adopt.find(cfn, ecr, None, DOC, "se-dev-bootstrap", OURS)
    assert kept.request()["ResourceIdentifier"] == {"RepositoryName": "se-dev"}
    assert kept.line("se-dev-bootstrap") == "adopting the kept repository se-dev (2 images) into se-dev-bootstrap"


def test_a_repository_tagged_for_another_environment_is_refused(cfn, ecr):
    _repository(ecr, {"project": "p", "environment": "staging"})
    cfn.stub.add_client_error("describe_stack_resources", "ValidationError", "Stack for se-dev does not exist")
    with pytest.raises(DeployError) as caught:
        adopt.find(cfn, ecr, None, DOC, "se-dev-bootstrap", OURS)
    assert caught.value.key == "registry.repository_name" and "environment=staging" in str(caught.value)


def test_a_repository_a_live_stack_holds_is_refused(cfn, ecr):
    _repository(ecr, OURS)
    cfn.stub.add_response("describe_stack_resources", {"StackResources": [{
        "StackName": "se-staging-bootstrap", "StackId": "arn:staging", "LogicalResourceId": "Repository", "PhysicalResourceId": "se-dev",
        "ResourceType": "AWS::ECR::Repository", "Timestamp": "2026-01-01T00:00:00Z", "ResourceStatus": "CREATE_COMPLETE"}]}, {"PhysicalResourceId": "se-dev"})
    cfn.stub.add_response("describe_stacks", {"Stacks": [{"StackName": "se-staging-bootstrap", "StackId": "arn:staging", "StackStatus": "UPDATE_COMPLETE",
                                                          "CreationTime": "2026-01-01T00:00:00Z"}]}, {"StackName": "arn:staging"})
    with pytest.raises(DeployError, match="already exists in stack se-staging-bootstrap"):
        adopt.find(cfn, ecr, None, DOC, "se-dev-bootstrap", OURS)


def test_no_repository_of_that_name_means_nothing_to_adopt(cfn, ecr):
    ecr.stub.add_client_error("describe_repositories", "RepositoryNotFoundException", "not found")
    assert adopt.find(cfn, ecr, None, DOC, "se-dev-bootstrap", OURS) == []
