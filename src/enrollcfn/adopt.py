"""Adopting what `destroy` kept into a new bootstrap stack, so an environment can come back.

`destroy` leaves the bootstrap's ECR repository (DeletionPolicy Retain: its images are data).
Its name is fixed by the config (registry.repository_name), so a new NAME-bootstrap that creates
it again fails with RepositoryAlreadyExistsException. The artifact bucket and, under
control-tower, its server access-log bucket are kept too, but they have no BucketName:
CloudFormation generates a new name, so the next bootstrap creates fresh ones beside the kept
ones (which `destroy` listed with their removal commands) and nothing blocks. Any bootstrap
resource of an importable type with a fixed name and a keeping DeletionPolicy is handled alike.

The way back is resource import: a change set of type IMPORT that creates the new stack from the
kept resources, then the usual update that adds the rest. The documented rules it follows:

- "A template that describes the entire stack ... Each resource to import must have a
  DeletionPolicy attribute"; the identifier is a property of the type and the resource's actual
  value; CloudFormation checks that the resource exists and "does not belong to another stack",
  and does not check that the template matches the resource's actual configuration
  (CloudFormation User Guide, "Import AWS resources into a CloudFormation stack",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html).
- "the only changes allowed in an import operation are the addition of new resources being
  imported" (`cdk import`, https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-import.html);
  Outputs are refused: "As part of the import operation, you cannot modify or add [Outputs]"
  (https://github.com/awslabs/aws-security-assessment-solution/issues/6). So the import template
  holds only the imported resources (and any Parameters they name), and the update adds the
  rest, Outputs included.
- ResourcesToImport entries are ResourceType, LogicalResourceId and ResourceIdentifier, a map of
  the type's primaryIdentifier property to its value (CreateChangeSet; the registry schemas:
  AWS::ECR::Repository /properties/RepositoryName, AWS::S3::Bucket /properties/BucketName).
- which stack holds a resource: DescribeStackResources with PhysicalResourceId "returns the
  resources of the stack that the resource belongs to", for running and deleted stacks (botocore's
  CloudFormation service model); only a stack that is not DELETE_COMPLETE still owns it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from botocore.exceptions import ClientError

from enrollcfn.changesets import DeployError

# type -> the primaryIdentifier property of its registry schema (the ResourceIdentifier key)
IDENTIFIERS = {"AWS::ECR::Repository": "RepositoryName", "AWS::S3::Bucket": "BucketName"}
KEPT_ON_DELETE = ("Retain", "RetainExceptOnCreate")  # DeletionPolicy values that leave the resource behind
CONFIG_KEYS = {"AWS::ECR::Repository": "registry.repository_name"}  # where a fixed name comes from


@dataclass(frozen=True)
class Kept:
    """A resource an earlier stack left behind that the new stack takes over."""

    logical_id: str
    type: str
    name: str  # its physical name, the ResourceIdentifier value
    detail: str = ""  # e.g. "3 images"

    def request(self) -> dict:
        """Its CreateChangeSet ResourcesToImport entry."""
        return {"ResourceType": self.type, "LogicalResourceId": self.logical_id, "ResourceIdentifier": {IDENTIFIERS[self.type]: self.name}}

    def line(self, stack: str) -> str:
        what = {"AWS::ECR::Repository": "repository", "AWS::S3::Bucket": "bucket"}[self.type]
        return f"adopting the kept {what} {self.name}{f' ({self.detail})' if self.detail else ''} into {stack}"


def candidates(doc: Mapping) -> list[tuple[str, str, str]]:
    """(logical id, type, fixed name) of each resource of `doc` a deletion keeps, of an importable
    type, whose identifier is a literal name (a generated one can never collide)."""
    found = []
    for logical, res in doc.get("Resources", {}).items():
        prop = IDENTIFIERS.get(res.get("Type"))
        name = res.get("Properties", {}).get(prop) if prop else None
        if prop and isinstance(name, str) and res.get("DeletionPolicy") in KEPT_ON_DELETE and "Condition" not in res:
            found.append((logical, res["Type"], name))
    return found


def find(cfn, ecr, s3, doc: Mapping, stack: str, tags: Mapping[str, str]) -> list[Kept]:
    """What of `doc`'s fixed-name resources already exists and may be adopted into `stack` (which
    does not exist yet). DeployError, before anything is created, for one held by another live
    stack or tagged for another project or environment (`tags`: project and environment)."""
    kept = []
    for logical, kind, name in candidates(doc):
        client = ecr if kind == "AWS::ECR::Repository" else s3
        if client is None:
            continue
        found = _repository(ecr, name) if kind == "AWS::ECR::Repository" else _bucket(s3, name)
        if found is None:
            continue
        have, detail = found
        key = CONFIG_KEYS.get(kind, f"{stack}/{logical}")
        owner = live_owner(cfn, name)
        if owner is not None and owner != stack:
            raise DeployError(key, f"{name} already exists in stack {owner}; give this environment a name of its own"
                              f"{_shared_hint(kind)} (nothing was created)")
        foreign = {k: have[k] for k in tags if k in have and have[k] != tags[k]}
        if foreign:
            theirs = ", ".join(f"{k}={v}" for k, v in foreign.items())
            ours = ", ".join(f"{k}={tags[k]}" for k in foreign)
            raise DeployError(key, f"{name} already exists and belongs to another environment (tagged {theirs}; this is {ours}); "
                              f"give this environment a name of its own{_shared_hint(kind)} (nothing was created)")
        kept.append(Kept(logical, kind, name, detail))
    return kept


def _shared_hint(kind: str) -> str:
    return ", or set registry.create: false to run that repository's images" if kind == "AWS::ECR::Repository" else ""


def _repository(ecr, name: str) -> tuple[dict[str, str], str] | None:
    """The repository's tags and how many images it holds; None when there is none of that name."""
    try:
        [repo] = ecr.describe_repositories(repositoryNames=[name])["repositories"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "RepositoryNotFoundException":
            return None
        raise
    tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"]).get("tags", [])}
    images = sum(len(page["imageIds"]) for page in ecr.get_paginator("list_images").paginate(repositoryName=name))
    return tags, f"{images} image{'s' if images != 1 else ''}"


def _bucket(s3, name: str) -> tuple[dict[str, str], str] | None:
    """The bucket's tags; None when no bucket has that name. A bucket of the name in another
    account (403) cannot be adopted: DeployError."""
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in ("404", "NoSuchBucket", "NotFound"):
            return None
        if code in ("403", "AccessDenied", "Forbidden"):
            raise DeployError(name, "a bucket of this name exists in another account (bucket names are global); choose another name") from None
        raise
    try:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchTagSet":
            raise
        tags = {}
    return tags, ""


def live_owner(cfn, physical_id: str) -> str | None:
    """The name of the stack, not deleted, that holds the resource `physical_id`; None when none does."""
    try:
        resources = cfn.describe_stack_resources(PhysicalResourceId=physical_id)["StackResources"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ValidationError":  # "Stack for <id> does not exist"
            return None
        raise
    for stack_id in {r["StackId"] for r in resources}:
        stacks = cfn.describe_stacks(StackName=stack_id)["Stacks"]
        if stacks and stacks[0]["StackStatus"] != "DELETE_COMPLETE":
            return stacks[0]["StackName"]
    return None


def import_template(doc: Mapping, kept: list[Kept]) -> dict:
    """The IMPORT change set's template: exactly the resources to adopt, as `doc` declares them
    (so the update after it finds them unchanged), with the Parameters they name; no Outputs."""
    resources = {k.logical_id: doc["Resources"][k.logical_id] for k in kept}
    named = _refs(resources)
    others = sorted(n for n in named if n in doc.get("Resources", {}) and n not in resources)
    if others:
        raise DeployError(kept[0].logical_id, f"refers to {', '.join(others)}, which an import cannot create; adopt it by hand")
    parameters = {n: p for n, p in doc.get("Parameters", {}).items() if n in named}
    body = {"AWSTemplateFormatVersion": doc.get("AWSTemplateFormatVersion", "2010-09-09"), "Resources": resources}
    if doc.get("Description"):
        body["Description"] = doc["Description"]
    return {**body, **({"Parameters": parameters} if parameters else {})}


def _refs(node) -> set[str]:
    """Every name a Ref or Fn::GetAtt (or a ${Name} in Fn::Sub) under `node` points at."""
    import re

    if isinstance(node, Mapping):
        found = set()
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()
