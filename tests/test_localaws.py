"""The local AWS's patches still apply to the pinned moto: a moto upgrade fails here first."""

from __future__ import annotations

import json

import moto
from moto.cloudformation.models import Stack
from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup
from moto.rds import utils as rds_utils
from moto.rds.models import DBInstance

from enrollcfn.local import server as localaws


def test_moto_is_the_version_the_patches_were_written_for():
    assert moto.__version__ == localaws.MOTO_VERSION


def test_every_patch_lands_on_the_class_it_targets():
    localaws.apply_patches()
    assert Stack.get_cfn_attribute is localaws._stack_get_cfn_attribute
    assert DBInstance.get_cfn_attribute is localaws._db_get
    assert DBInstance.has_cfn_attr("MasterUserSecret.SecretArn") and DBInstance.has_cfn_attr("Endpoint.Address")
    assert rds_utils.get_overlap_between_two_date_ranges is localaws._overlap
    assert FakeLoadBalancer.get_cfn_attribute is localaws._alb_get
    assert FakeTargetGroup.has_cfn_attr("TargetGroupFullName")
    from moto.cloudformation.parsing import get_model_map

    assert {"AWS::SecretsManager::Secret", "AWS::CertificateManager::Certificate"} <= set(get_model_map())


def test_adjacent_rds_windows_pass_and_overlapping_ones_still_fail():
    localaws.apply_patches()
    assert rds_utils.valid_preferred_maintenance_window("mon:04:00-mon:05:00", "03:00-04:00") is None
    assert "overlap" in rds_utils.valid_preferred_maintenance_window("mon:03:30-mon:05:00", "03:00-04:00")


def test_ecs_and_change_set_patches_land():
    """The one-off task stand-in (`enrollcfn run`) and the parameter-only change set (rollback)."""
    from moto.cloudformation.models import ChangeSet
    from moto.ecs.models import EC2ContainerServiceBackend, Service

    localaws.apply_patches()
    assert ChangeSet.diff is localaws._change_set_diff
    from moto.cloudformation.responses import CloudFormationResponse

    assert CloudFormationResponse.create_change_set is localaws._create_import_change_set
    assert CloudFormationResponse.describe_stack_resources is localaws._describe_stack_resources
    assert EC2ContainerServiceBackend.run_task is localaws._run_task
    assert Service.create_from_cloudformation_json.__func__ is localaws._service_create


def test_deleting_a_stack_marks_its_ecs_cluster_service_and_task_definition_inactive():
    """ECS keeps deleted clusters and services as INACTIVE (DeleteCluster, DeleteService API)."""
    import boto3
    from moto import mock_aws

    localaws.apply_patches()
    template = {"Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "c1"}},
        "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "f1", "ContainerDefinitions": [{"Name": "app", "Image": "nginx", "Memory": 512}]}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "ServiceName": "s1", "TaskDefinition": {"Ref": "Task"}, "DesiredCount": 1}},
    }}
    with mock_aws():
        cfn, ecs = boto3.client("cloudformation", region_name="us-east-1"), boto3.client("ecs", region_name="us-east-1")
        cfn.create_stack(StackName="s", TemplateBody=json.dumps(template))
        cfn.delete_stack(StackName="s")
        assert ecs.describe_clusters(clusters=["c1"])["clusters"][0]["status"] == "INACTIVE"
        assert ecs.describe_task_definition(taskDefinition="f1:1")["taskDefinition"]["status"] == "INACTIVE"


def test_a_fargate_task_definition_without_container_memory_can_run():
    """moto sums container memory and fails on None; Fargate sizes the task instead (ECS API:
    container memory is optional when the task sets it)."""
    from types import SimpleNamespace

    localaws.apply_patches()
    from moto.ecs.models import EC2ContainerServiceBackend

    taskdef = SimpleNamespace(container_definitions=[{"name": "app", "image": "x"}])
    assert EC2ContainerServiceBackend._calculate_task_resource_requirements(taskdef)["MEMORY"] == 0
    assert taskdef.container_definitions == [{"name": "app", "image": "x"}]  # left as it was


IMPORT_TEMPLATE = {"Resources": {"Repository": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Retain",
                                                "Properties": {"RepositoryName": "kept"}}}}


def _import(cfn, template=IMPORT_TEMPLATE, identifier=None, stack="adopter"):
    return cfn.create_change_set(
        StackName=stack, ChangeSetName="adopt", ChangeSetType="IMPORT", TemplateBody=json.dumps(template),
        ResourcesToImport=[{"ResourceType": "AWS::ECR::Repository", "LogicalResourceId": "Repository",
                            "ResourceIdentifier": identifier or {"RepositoryName": "kept"}}])


def test_an_import_change_set_adopts_an_existing_repository_into_a_new_stack():
    """Patch 14: the stack holds the existing repository (its images stay), nothing is created."""
    import boto3
    from moto import mock_aws

    localaws.apply_patches()
    with mock_aws():
        cfn, ecr = boto3.client("cloudformation", region_name="us-east-1"), boto3.client("ecr", region_name="us-east-1")
        ecr.create_repository(repositoryName="kept")
        digest = localaws.push_image(ecr, "kept", "release-1", "kept")
        change_set = _import(cfn)["Id"]
        described = cfn.describe_change_set(ChangeSetName=change_set)
        assert [(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"]) for c in described["Changes"]] == [("Import", "Repository")]
        cfn.execute_change_set(ChangeSetName=change_set)
        stack = cfn.describe_stacks(StackName="adopter")["Stacks"][0]
        assert stack["StackStatus"] == "IMPORT_COMPLETE"
        [held] = cfn.list_stack_resources(StackName="adopter")["StackResourceSummaries"]
        assert (held["LogicalResourceId"], held["PhysicalResourceId"]) == ("Repository", "kept")
        assert [i["imageDigest"] for i in ecr.list_images(repositoryName="kept")["imageIds"]] == [digest]
        # Patch 15: the stack that holds a resource, by its physical id
        owners = cfn.describe_stack_resources(PhysicalResourceId="kept")["StackResources"]
        assert {r["StackName"] for r in owners} == {"adopter"}


def test_an_import_is_refused_as_cloudformation_documents():
    """A missing resource, a wrong identifier key, a resource without DeletionPolicy, an Output, a
    resource the import would create, and one another live stack holds are all refused."""
    import boto3
    import pytest
    from botocore.exceptions import ClientError
    from moto import mock_aws

    localaws.apply_patches()
    repo = IMPORT_TEMPLATE["Resources"]["Repository"]
    no_policy = {"Resources": {"Repository": {k: v for k, v in repo.items() if k != "DeletionPolicy"}}}
    with_output = {**IMPORT_TEMPLATE, "Outputs": {"Name": {"Value": {"Ref": "Repository"}}}}
    creates = {"Resources": {**IMPORT_TEMPLATE["Resources"], "Queue": {"Type": "AWS::SQS::Queue"}}}
    with mock_aws():
        cfn, ecr = boto3.client("cloudformation", region_name="us-east-1"), boto3.client("ecr", region_name="us-east-1")
        for kwargs, says in [({}, "was not found"), ]:
            with pytest.raises(ClientError, match=says):
                _import(cfn, **kwargs)
        ecr.create_repository(repositoryName="kept")
        for kwargs, says in [({"identifier": {"RepositoryArn": "kept"}}, "expected the keys"), ({"template": no_policy}, "DeletionPolicy"),
                             ({"template": with_output}, "Outputs"), ({"template": creates}, "cannot create")]:
            with pytest.raises(ClientError, match=says):
                _import(cfn, **kwargs)
        cfn.execute_change_set(ChangeSetName=_import(cfn)["Id"])
        with pytest.raises(ClientError, match="already exists in stack adopter"):
            _import(cfn, stack="second")
        with pytest.raises(ClientError, match="Stack for nothing does not exist"):
            cfn.describe_stack_resources(PhysicalResourceId="nothing")


def test_deleting_a_stack_deletes_its_managed_policy():
    """Patch 16: without a DeletionPolicy a stack's resources go with it (DeletionPolicy attribute,
    default Delete), so the policy's name is free for the next stack."""
    import boto3
    from moto import mock_aws

    localaws.apply_patches()
    template = {"Resources": {"Boundary": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
        "ManagedPolicyName": "b1", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}}}}
    with mock_aws():
        cfn, iam = boto3.client("cloudformation", region_name="us-east-1"), boto3.client("iam", region_name="us-east-1")
        cfn.create_stack(StackName="s", TemplateBody=json.dumps(template))
        assert [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]] == ["b1"]
        cfn.delete_stack(StackName="s")
        assert iam.list_policies(Scope="Local")["Policies"] == []
        cfn.create_stack(StackName="s2", TemplateBody=json.dumps(template))
