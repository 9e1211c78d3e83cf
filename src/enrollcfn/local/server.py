"""A local AWS for tests and `make demo`: a moto server on 127.0.0.1, patched where moto's
CloudFormation differs from the real service in ways this project's templates reach.

Every patch is pinned to moto 5.2.5 (`MOTO_VERSION`); tests/test_localaws.py fails when one stops
applying, so a moto upgrade shows which ones to revisit. Import this module before starting a
server: the patches act on moto's classes in this process.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import threading
import time
import urllib.request
import warnings
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import moto
import yaml
from moto import settings as moto_settings
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing, responses as cfn_responses, utils as cfn_utils
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.core.common_models import CloudFormationModel
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr.models import ECRBackend
from moto.ecr.responses import ECRResponse
from moto.ecs.models import Cluster as EcsCluster, EC2ContainerServiceBackend, Service as EcsService, TaskDefinition as EcsTaskDefinition
from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup
from moto.iam.models import ManagedPolicy as IamManagedPolicy
from moto.kms.models import Key as KmsKey
from moto.rds import utils as rds_utils
from moto.rds.models import DBInstance
from moto.server import ThreadedMotoServer

from enrollcfn.local import CREDENTIALS, REGION, environment, free_port, standin  # noqa: F401 - the tests' names for them

MOTO_VERSION = "5.2.5"


# 1. GetAtt <NestedStack>.Outputs.<Key>: moto's Stack has no get_cfn_attribute.
def _stack_get_cfn_attribute(self, attribute_name):
    if attribute_name.startswith("Outputs."):
        key = attribute_name.split(".", 1)[1]
        for o in self.output_map.values():
            if o and o.key == key:
                return o.value
    raise UnformattedGetAttTemplateException()


# 2. YAML short form !GetAtt 'A.B.C' splits on the first dot only (moto splits on every dot).
def _yaml_tag_constructor(loader, tag, node):
    if tag == "!GetAtt":
        value = loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else node.value.split(".", 1)
        return {"Fn::GetAtt": value}
    return cfn_utils.yaml_tag_constructor(loader, tag, node)


# 3. Stacks executed from change sets get their Outputs rebuilt (moto keeps the placeholder's)
# and their Parameters kept (moto compares the next change set with the first parameters).
_original_execute = CloudFormationBackend.execute_change_set


def _execute_change_set(self, change_set_name, stack_name=None):
    cs = self.change_sets.get(change_set_name) or next(
        (c for c in reversed(list(self.change_sets.values()))
         if c.change_set_name == change_set_name and stack_name in (None, c.stack_name, c.stack_id)),
        None,
    )
    if cs is not None and cs.change_set_type == "IMPORT":
        _execute_import(self, cs)  # 14.
    else:
        _original_execute(self, change_set_name, stack_name)
    if cs is not None:
        stack = self.stacks[cs.stack_id]
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = dict(cs.parameters)


# 4. AWS::SecretsManager::Secret and AWS::CertificateManager::Certificate are silently skipped
# by moto (Ref resolves to None); minimal models create them through moto's own backends. They
# repeat each other's small methods on purpose: moto registers only direct subclasses of
# CloudFormationModel, so a shared base class would hide both.
class _CfnSecret(CloudFormationModel):
    __module__ = "localaws.secretsmanager"  # moto keys models on __module__.split(".")[1]

    def __init__(self, arn):
        self.arn = arn

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @staticmethod
    def cloudformation_type():
        return "AWS::SecretsManager::Secret"

    @property
    def physical_resource_id(self):
        return self.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.secretsmanager.models import secretsmanager_backends

        backend = secretsmanager_backends[account_id][region_name]
        props = cloudformation_json.get("Properties", {})
        value = props.get("SecretString")
        generate = props.get("GenerateSecretString")
        if value is None and generate is not None:
            password = json.loads(backend.get_random_password(
                int(generate.get("PasswordLength", 32)), generate.get("ExcludeCharacters", ""),
                False, bool(generate.get("ExcludePunctuation")), False, False, False, True,
            ))["RandomPassword"]
            document = json.loads(generate.get("SecretStringTemplate", "{}"))
            document[generate.get("GenerateStringKey", "password")] = password
            value = json.dumps(document)
        created = backend.create_secret(
            name=resource_name, secret_string=value, secret_binary=None, description=props.get("Description"),
            tags=props.get("Tags"), kms_key_id=props.get("KmsKeyId"), client_request_token=None,
            replica_regions=[], force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"] if isinstance(created, str) else created["ARN"])

    def delete(self, account_id, region_name):
        from moto.secretsmanager.models import secretsmanager_backends

        secretsmanager_backends[account_id][region_name].delete_secret(self.arn, None, True)


class _CfnCertificate(CloudFormationModel):
    __module__ = "localaws.acm"

    def __init__(self, arn):
        self.arn = arn

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::CertificateManager::Certificate"

    @property
    def physical_resource_id(self):
        return self.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.acm.models import acm_backends

        props = cloudformation_json.get("Properties", {})
        return cls(acm_backends[account_id][region_name].request_certificate(
            props["DomainName"], None, props.get("SubjectAlternativeNames") or [], props.get("Tags") or []
        ))


# 5. RDS: GetAtt MasterUserSecret.SecretArn (ManageMasterUserPassword), and a Ref to a
# DBParameterGroup resolving to the model object instead of its name.
_original_db_has = DBInstance.has_cfn_attr.__func__
_original_db_get = DBInstance.get_cfn_attribute
_original_db_create = DBInstance.create_from_cloudformation_json.__func__


def _db_get(self, name):
    if name == "MasterUserSecret.SecretArn":
        return f"arn:aws:secretsmanager:{self.region}:{self.account_id}:secret:rds!db-{self.db_instance_identifier}"
    return _original_db_get(self, name)


def _db_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    props = dict(cloudformation_json.get("Properties", {}))
    group = props.get("DBParameterGroupName")
    if group is not None and not isinstance(group, str):
        props["DBParameterGroupName"] = group.name
    return _original_db_create(cls, resource_name, {**cloudformation_json, "Properties": props},
                               account_id, region_name, **kwargs)


# 6. RDS: adjacent backup and maintenance windows (03:00-04:00, mon:04:00-mon:05:00) share an
# end point without overlapping; moto counts the zero-second overlap as a clash.
_original_overlap = rds_utils.get_overlap_between_two_date_ranges


def _overlap(*ranges):
    return _original_overlap(*ranges) - 1


# 7. ELBv2: the GetAtts the load balancer stack reads.
_original_alb_get = FakeLoadBalancer.get_cfn_attribute


def _alb_get(self, name):
    if name == "LoadBalancerFullName":
        return self.arn.split(":loadbalancer/", 1)[1]
    if name == "CanonicalHostedZoneID":
        return "Z1GM3OXH4ZPM65"  # the ALB zone of ap-southeast-2
    return _original_alb_get(self, name)


def _tg_get(self, name):
    if name == "TargetGroupFullName":
        return self.arn.split(":", 5)[5]
    raise UnformattedGetAttTemplateException()


# 8. UpdateTerminationProtection is not implemented by moto.
def _update_termination_protection(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_param("EnableTerminationProtection") in (True, "true")
    return ActionResult({"StackId": stack.stack_id})


# 9. AWS::KMS::Key Tags: CloudFormation's Key/Value pairs reach moto's KMS, which reads
# TagKey/TagValue (the KMS API's shape) and fails with KeyError.
_original_key_create = KmsKey.create_from_cloudformation_json.__func__


def _key_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    props = cloudformation_json["Properties"]
    tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
    json_ = {**cloudformation_json, "Properties": {**props, "Tags": tags}}
    return _original_key_create(cls, resource_name, json_, account_id, region_name, **kwargs)


# 10. ECS one-off tasks (`enrollcfn run`): moto drops a CloudFormation service's
# NetworkConfiguration (so no subnets to run in), fails RunTask when only the task (Fargate) sets
# memory, and every container exits 0 without writing a log line. The stand-in: a task whose
# command override is `sh -c "exit N"` exits N; every one-off task writes one line naming its
# command to the awslogs stream ECS would use (prefix/container/task-id) and carries an image digest.
_original_service_create = EcsService.create_from_cloudformation_json.__func__
_original_run_task = EC2ContainerServiceBackend.run_task
_original_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements


def _service_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    service = _original_service_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    vpc = cloudformation_json["Properties"].get("NetworkConfiguration", {}).get("AwsvpcConfiguration")
    if vpc:
        service.network_configuration = {"awsvpcConfiguration": {
            "subnets": list(vpc.get("Subnets", [])), "securityGroups": list(vpc.get("SecurityGroups", [])),
            "assignPublicIp": vpc.get("AssignPublicIp", "DISABLED")}}
    return service


def _requirements(task_definition):
    defs = task_definition.container_definitions
    fixed = [{**d, "memory": d.get("memory") or 0} if not (d.get("memory") or d.get("memoryReservation")
                                                          or d.get("Memory") or d.get("MemoryReservation")) else d for d in defs]
    task_definition.container_definitions = fixed
    try:
        return _original_requirements(task_definition)
    finally:
        task_definition.container_definitions = defs


def _run_task(self, cluster_str, task_definition_str, count, overrides, *args, **kwargs):
    tasks = _original_run_task(self, cluster_str, task_definition_str, count, overrides, *args, **kwargs)
    for task in tasks:
        _stand_in(self, task, (overrides or {}).get("containerOverrides") or [])
    return tasks


def _stand_in(backend, task, container_overrides: list) -> None:
    from moto.logs.models import logs_backends

    definition = backend.describe_task_definition(task.task_definition_arn)
    container = task.containers[0]
    command = next((o.get("command") for o in container_overrides if o.get("command")), None) or container.command or []
    code = command[2].split()[1] if command[:2] == ["sh", "-c"] and command[2:3] and command[2].startswith("exit ") else "0"
    container.exitCode = int(code) if code.isdigit() else 1
    container.image_digest = "sha256:" + "0" * 64
    options = (definition.container_definitions[0].get("logConfiguration") or {}).get("options") or {}
    group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
    if not group or not prefix:
        return
    logs = logs_backends[backend.account_id][task.region_name]
    stream = f"{prefix}/{container.name}/{task.id}"
    logs.create_log_stream(group, stream)
    logs.put_log_events(group, stream, [{"timestamp": int(time.time() * 1000), "message": f"local AWS ran: {' '.join(command)}"}])


# 11. A change set that changes only Parameters (rollback: ImageDigest) lists no changes: moto's
# ChangeSet.diff never passes the new parameter values to its own parameter-aware resource diff.
_original_diff = ChangeSet.diff


def _change_set_diff(self):
    resources = self.stack.resource_map
    resource_diff = resources.build_resource_diff
    resources.build_resource_diff = lambda template, parameters=None: resource_diff(template, self.parameters)
    try:
        return _original_diff(self)
    finally:
        del resources.build_resource_diff


# 12. Deleting a stack leaves its ECS cluster, service and task definition ACTIVE: moto's classes
# inherit the abstract, empty delete_from_cloudformation_json. ECS marks each INACTIVE on delete,
# as AWS does (DeleteCluster, DeleteService with force, DeregisterTaskDefinition).
def _ecs_delete(delete):
    def patched(cls, resource_name, cloudformation_json, account_id, region_name):
        from moto.ecs.models import ecs_backends

        delete(ecs_backends[account_id][region_name], resource_name)
    return classmethod(patched)


def _service_delete(backend, arn: str) -> None:
    service = next(s for s in backend.services.values() if s.arn == arn)
    backend.delete_service(service.cluster_name, service.name, force=True)


# 13. ECR GetDownloadUrlForLayer, which moto does not have: a URL on a loopback blob server for
# the image config blobs `push_image` stored, so deploy's preflight reads an image's config as it
# does from ECR (a pre-signed S3 URL there).
_BLOBS: dict[str, bytes] = {}
_BLOB_SERVER: list[str] = []  # the blob server's base URL while a server() runs


class _LayersNotFound(ServiceException):
    code = "LayersNotFoundException"


def _get_download_url_for_layer(self):
    digest = self._get_param("layerDigest")
    if digest not in _BLOBS or not _BLOB_SERVER:
        raise _LayersNotFound(f"The image layer '{digest}' does not exist")
    return ActionResult({"downloadUrl": f"{_BLOB_SERVER[0]}/{digest}", "layerDigest": digest})


class _BlobHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        blob = _BLOBS.get(self.path.lstrip("/"))
        self.send_response(200 if blob is not None else 404)
        self.send_header("Content-Length", str(len(blob or b"")))
        self.end_headers()
        self.wfile.write(blob or b"")

    def log_message(self, *args):  # quiet
        pass


# 14. ChangeSetType IMPORT: moto ignores ResourcesToImport and runs the change set as a create,
# so an existing resource fails with AlreadyExists. Modelled here for a NEW stack (the only use
# this project has: the bootstrap stack adopting what `destroy` kept), with the validations the
# CloudFormation User Guide lists ("Import AWS resources into a CloudFormation stack",
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html): the
# resource exists, belongs to no other stack, and each resource to import has a DeletionPolicy;
# the identifier is the type's primaryIdentifier property (cfn-lint's registry schemas) and names
# the template's value; an import adds only the resources it imports ("the only changes allowed
# in an import operation are the addition of new resources being imported", `cdk import`,
# https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-import.html) and no Outputs (CloudFormation
# answers "As part of the import operation, you cannot modify or add [Outputs]",
# https://github.com/awslabs/aws-security-assessment-solution/issues/6). Executing it puts the
# existing model objects in the stack's resource map, creating nothing, and ends IMPORT_COMPLETE.
def _find_repository(account_id, region, name):
    from moto.ecr.models import ecr_backends

    return ecr_backends[account_id][region].repositories.get(name)


def _find_bucket(account_id, region, name):
    from moto.s3.models import s3_backends

    return s3_backends[account_id]["aws"].buckets.get(name)


IMPORTABLE = {"AWS::ECR::Repository": ("RepositoryName", _find_repository), "AWS::S3::Bucket": ("BucketName", _find_bucket)}
_original_create_change_set = cfn_responses.CloudFormationResponse.create_change_set


def _owned_by_live_stack(backend, physical_id):
    return next((s.name for s in backend.stacks.values() if s.status != "REVIEW_IN_PROGRESS"
                 and any(getattr(r, "physical_resource_id", None) == physical_id for r in _parsed(s))), None)


def _parsed(stack):
    """The resources a stack holds, without moto's lazy map creating the ones it does not."""
    rm = stack.resource_map
    return [r for k, r in rm._parsed_resources.items() if k in rm._resource_json_map and hasattr(r, "physical_resource_id")]


def _create_import_change_set(self):
    if self._get_param("ChangeSetType", "CREATE") != "IMPORT":
        return _original_create_change_set(self)
    backend, name = self.cloudformation_backend, self._get_param("StackName")
    body = self._get_param("TemplateBody") or self._get_stack_from_s3_url(self._get_param("TemplateURL"))
    template = Stack.parse_template(body)
    existing = next((s for s in backend.stacks.values() if s.name == name), None)
    if existing is not None and existing.status != "REVIEW_IN_PROGRESS":
        raise ValidationError(message=f"local AWS: IMPORT into the existing stack {name} is not modelled (only a new stack)")
    if template.get("Outputs"):
        raise ValidationError(message="As part of the import operation, you cannot modify or add [Outputs]")
    imports = {i["LogicalResourceId"]: i for i in self._get_param("ResourcesToImport", [])}
    resources = template.get("Resources", {})
    if set(resources) - set(imports):
        raise ValidationError(message=f"As part of the import operation, you cannot create resources: {sorted(set(resources) - set(imports))}")
    found = {}
    for logical, i in imports.items():
        res = resources.get(logical)
        if res is None or res.get("Type") != i["ResourceType"]:
            raise ValidationError(message=f"Resource {logical} of type {i['ResourceType']} is not in the template")
        if "DeletionPolicy" not in res:
            raise ValidationError(message=f"The following resource(s) must have a DeletionPolicy attribute specified: [{logical}]")
        if i["ResourceType"] not in IMPORTABLE:
            raise ValidationError(message=f"local AWS: import of {i['ResourceType']} is not modelled")
        prop, find = IMPORTABLE[i["ResourceType"]]
        ident = i.get("ResourceIdentifier") or {}
        if set(ident) != {prop}:
            raise ValidationError(message=f"Invalid ResourceIdentifier for {logical}: expected the keys [{prop}], got {sorted(ident)}")
        value = ident[prop]
        declared = res.get("Properties", {}).get(prop)
        if isinstance(declared, str) and declared != value:
            raise ValidationError(message=f"{logical}: the identifier {prop}={value} does not match the template's {declared}")
        model = find(backend.account_id, backend.region_name, value)
        if model is None:
            raise ValidationError(message=f"Resource of type '{i['ResourceType']}' with identifier '{value}' was not found.")
        owner = _owned_by_live_stack(backend, model.physical_resource_id)
        if owner is not None:
            raise ValidationError(message=f"Resource of type '{i['ResourceType']}' with identifier '{value}' already exists in stack {owner}.")
        found[logical] = model
    tags = {item["Key"]: item["Value"] for item in self._get_param("Tags", [])}
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in self._get_param("Parameters", [])}
    change_set_id, stack_id = backend.create_change_set(
        stack_name=name, change_set_name=self._get_param("ChangeSetName"), template=body, parameters=parameters,
        description=self._get_param("Description"), notification_arns=self._get_param("NotificationARNs", []),
        tags=tags, role_arn=self._get_param("RoleARN"), change_set_type="IMPORT")
    cs = backend.change_sets[change_set_id]
    cs.imported = found
    cs.changes = [cfn_models.Change(action="Import", logical_resource_id=k, resource_type=resources[k]["Type"]) for k in found]
    return ActionResult({"Id": change_set_id, "StackId": stack_id})


def _execute_import(backend, cs) -> None:
    stack = backend.stacks[cs.stack_id]
    stack._add_stack_event("IMPORT_IN_PROGRESS", resource_status_reason="User Initiated")
    rm = stack.resource_map
    rm._template, rm._resource_json_map, rm.input_parameters = cs.template_dict, cs.template_dict["Resources"], dict(cs.parameters)
    rm.load_mapping()
    rm.load_parameters()
    rm.load_conditions()
    for logical, model in cs.imported.items():
        model.cf_resource_type = cs.template_dict["Resources"][logical]["Type"]
        model.logical_resource_id = logical
        rm._parsed_resources[logical] = model
    stack._add_stack_event("IMPORT_COMPLETE")
    cs.execution_status = "EXECUTE_COMPLETE"
    stack.status = "IMPORT_COMPLETE"
    stack.template = cs.template


# 15. DescribeStackResources by PhysicalResourceId (which stack holds a resource): moto reads
# only StackName. The API returns the resources of the stack the resource belongs to, for running
# and deleted stacks (deleted ones for 90 days), and a ValidationError given both names
# (DescribeStackResources, botocore's service model).
_original_describe_stack_resources = cfn_responses.CloudFormationResponse.describe_stack_resources


def _describe_stack_resources(self):
    physical = self._get_param("PhysicalResourceId")
    if physical is None:
        return _original_describe_stack_resources(self)
    if self._get_param("StackName"):
        raise ValidationError(message="Specify either StackName or PhysicalResourceId, not both")
    backend = self.cloudformation_backend
    for stack in [*backend.stacks.values(), *backend.deleted_stacks.values()]:
        held = _parsed(stack)
        if any(r.physical_resource_id == physical for r in held):
            return ActionResult({"StackResources": [cfn_responses.StackResourceDTO(stack, r) for r in held]})
    raise ValidationError(message=f"Stack for {physical} does not exist")


# 16. Deleting a stack leaves its AWS::IAM::ManagedPolicy behind: moto's model has no delete, so
# an environment deployed again after `destroy` fails on the boundary's fixed name ("A policy
# called ... already exists"). CloudFormation deletes a resource without a DeletionPolicy with its
# stack (DeletionPolicy attribute: Delete is the default); IAM's DeletePolicy removes it.
def _managed_policy_delete(self, account_id, region_name):
    self.backend.delete_policy(self.arn)


# 17. ECR CompleteLayerUpload keeps only a layer's size; the bytes are kept here too, so a blob
# pushed through the ECR API (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, as
# `push_image` does) is served by GetDownloadUrlForLayer above. Through the API, not by writing
# _BLOBS directly, because the server may run in another process (enrollcfn.local.session).
_original_complete_upload = ECRBackend.complete_layer_upload


def _complete_layer_upload(self, repository_name, upload_id, layer_digests, registry_id=None):
    repository = self._get_repository(repository_name, registry_id)
    upload = repository.uploads.get(upload_id)
    parts = bytes(upload.layer_parts) if upload is not None else b""
    result = _original_complete_upload(self, repository_name, upload_id, layer_digests, registry_id=registry_id)
    _BLOBS[result["layerDigest"]] = parts
    return result


def apply_patches() -> None:
    """Patch moto's classes in this process (idempotent)."""
    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"enrollcfn.local.server patches moto {MOTO_VERSION}, found {moto.__version__}: revisit them")
    Stack.get_cfn_attribute = _stack_get_cfn_attribute
    cfn_models.yaml_tag_constructor = cfn_responses.yaml_tag_constructor = _yaml_tag_constructor
    CloudFormationBackend.execute_change_set = _execute_change_set
    DBInstance.has_cfn_attr = classmethod(lambda cls, a: a == "MasterUserSecret.SecretArn" or _original_db_has(cls, a))
    DBInstance.get_cfn_attribute = _db_get
    DBInstance.create_from_cloudformation_json = classmethod(_db_create)
    rds_utils.get_overlap_between_two_date_ranges = _overlap
    FakeLoadBalancer.get_cfn_attribute = _alb_get
    FakeTargetGroup.get_cfn_attribute = _tg_get
    FakeTargetGroup.has_cfn_attr = classmethod(lambda cls, a: a == "TargetGroupFullName")
    cfn_responses.CloudFormationResponse.update_termination_protection = _update_termination_protection
    KmsKey.create_from_cloudformation_json = classmethod(_key_create)
    ChangeSet.diff = _change_set_diff
    cfn_responses.CloudFormationResponse.create_change_set = _create_import_change_set
    cfn_responses.CloudFormationResponse.describe_stack_resources = _describe_stack_resources
    IamManagedPolicy.delete = _managed_policy_delete
    EcsService.create_from_cloudformation_json = classmethod(_service_create)
    EcsService.delete_from_cloudformation_json = _ecs_delete(_service_delete)
    EcsCluster.delete_from_cloudformation_json = _ecs_delete(lambda backend, name: backend.delete_cluster(name))
    EcsTaskDefinition.delete_from_cloudformation_json = _ecs_delete(lambda backend, arn: backend.deregister_task_definition(arn))
    EC2ContainerServiceBackend.run_task = _run_task
    ECRResponse.get_download_url_for_layer = _get_download_url_for_layer
    ECRBackend.complete_layer_upload = _complete_layer_upload
    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(_requirements)
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


# The image config of the stand-in image: what deploy's preflight reads. A linux/amd64 image for
# the default config: its user owns the default writable paths, declared as VOLUMEs.
# The config blob of a pushed stand-in: the seed image's (enrollcfn.local.standin owns its facts).
STAND_IN_CONFIG = {**standin.oci_config("seed"), "rootfs": {"type": "layers", "diff_ids": []}}


def push_image(ecr, repository: str, tag: str, label: str, config: dict | None = None) -> str:
    """Push a stand-in image manifest, distinct per `label`, under `tag`, with the image config
    `config` (default STAND_IN_CONFIG); its digest.

    moto derives a digest from the manifest's layer digests, and from one of 101 random values
    when there are none; one layer named after the label keeps digests distinct and repeatable.
    """
    layer = {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 0,
             "digest": "sha256:" + hashlib.sha256(label.encode()).hexdigest()}
    blob = json.dumps(config or STAND_IN_CONFIG).encode()
    digest = upload_blob(ecr, repository, blob)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "layers": [layer],
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(blob), "digest": digest}}
    image = ecr.put_image(repositoryName=repository, imageTag=tag, imageManifest=json.dumps(manifest))["image"]
    return image["imageId"]["imageDigest"]


def upload_blob(ecr, repository: str, blob: bytes) -> str:
    """Upload `blob` to `repository` through ECR's layer upload API (one part); its digest."""
    upload = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    ecr.upload_layer_part(repositoryName=repository, uploadId=upload, partFirstByte=0,
                          partLastByte=max(len(blob) - 1, 0), layerPartBlob=blob)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    done = ecr.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[digest])
    if done["layerDigest"] != digest:  # the server hashes what it received: a part was lost or changed
        raise RuntimeError(f"ECR received {done['layerDigest']} for a blob of {digest}")
    return digest


# moto's notes that reach a terminal while it runs, none of them a finding of this project:
# - "error running docker: ..." (logger moto.awslambda.models, ERROR): moto invokes a Lambda
#   function (the templates' custom resources) in docker, and there is no docker here; the
#   custom resources are stood in for by the patches above, not run.
# - "Tried to parse AWS::... but it's not supported by moto" (UserWarning): resource types moto
#   does not model (autoscaling, alarms, bucket policies), known gaps listed in docs/operations.md.
# - "WARNING - Unable to parse Docker API response. Defaulting to 'host.docker.internal'" and
#   "<class 'json.decoder.JSONDecodeError'>::Expecting value: ..." (print, to stdout): before
#   invoking a function moto asks, once per process, for the address a Lambda container would
#   call back on (moto.settings.moto_server_host); inside a container (/proc/self/cgroup names
#   docker) it asks docker's socket with curl, and there is no docker to answer.
# - werkzeug's request lines (INFO) and moto's own INFO/WARNING logging.
_QUIET_MESSAGES = ("error running docker",)
_original_server_host = moto_settings.moto_server_host


def _quiet_server_host() -> str:
    """moto's answer, its prints turned into one DEBUG record of logger moto.settings. Swapping
    sys.stdout is safe enough here: moto caches the answer, so this runs once, while the caller
    (one request's thread) waits."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        host = _original_server_host()
    if printed.getvalue().strip():
        logging.getLogger("moto.settings").debug("%s", printed.getvalue().strip())
    return host


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_QUIET_MESSAGES)


def quiet() -> None:
    """Keep moto's notes (above) out of this process's output (idempotent)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)
    lambdas = logging.getLogger("moto.awslambda.models")
    if not any(isinstance(f, _Quiet) for f in lambdas.filters):
        lambdas.addFilter(_Quiet())
    warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto", category=UserWarning)
    moto_settings.moto_server_host = _quiet_server_host


@contextmanager
def server(port: int | None = None, *, quiet_moto: bool = True):
    """A patched moto server on 127.0.0.1:`port` (default: a free one); yields its endpoint URL.

    moto's notes (see `quiet`) are kept out of this process's output unless `quiet_moto` is false
    (the detached server of enrollcfn.local.session, whose output is a log file). moto keeps its state per
    process, not per server, so the state is reset on start and on stop: each server is a fresh
    account.
    """
    apply_patches()
    if quiet_moto:
        quiet()
    # The blob server first: once the moto server answers, all of it must work.
    blobs = ThreadingHTTPServer(("127.0.0.1", 0), _BlobHandler)
    threading.Thread(target=blobs.serve_forever, daemon=True).start()
    _BLOB_SERVER[:] = [f"http://127.0.0.1:{blobs.server_address[1]}"]
    port = port or free_port()
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    srv.start()
    endpoint = f"http://127.0.0.1:{port}"
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=30).close()
    try:
        yield endpoint
    finally:
        _BLOB_SERVER.clear()
        _BLOBS.clear()
        blobs.shutdown()
        blobs.server_close()
        urllib.request.urlopen(reset, timeout=30).close()
        srv.stop()
