"""Bootstrap stack, deployed on its own before the root: the artifact bucket that holds the
packaged templates and Lambda code, and the ECR repository the service pulls from.

The repository lives here, not in the nested set, so an image can be pushed before the service
exists (a service created before its image hangs the stack for hours).
Inputs: none. Outputs: the constants below.
"""

from __future__ import annotations

import json

from awacs.aws import PolicyDocument
from troposphere import GetAtt, Ref, Template
from troposphere.ecr import ImageScanningConfiguration, LifecyclePolicy, Repository
from troposphere.ecr import EncryptionConfiguration as EcrEncryption
from troposphere.s3 import (
    Bucket,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    NoncurrentVersionExpiration,
    VersioningConfiguration,
)

from enrollcfn.config import Config
from templates._helpers import output, private_bucket_properties, scanner_skips, tls_only_statement

ARTIFACT_BUCKET_NAME = "ArtifactBucketName"
REPOSITORY_NAME = "RepositoryName"
REPOSITORY_URI = "RepositoryUri"
REPOSITORY_ARN = "RepositoryArn"


def build(cfg: Config) -> Template:
    """The bootstrap template for `cfg`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: artifact bucket and ECR repository (deployed before the root stack)")
    t.set_version()
    bucket = _artifact_bucket(t)
    repo = _repository(t, cfg)
    output(t, ARTIFACT_BUCKET_NAME, Ref(bucket), "Bucket that holds packaged templates and Lambda code")
    output(t, REPOSITORY_NAME, Ref(repo), "ECR repository of the application image")
    output(t, REPOSITORY_URI, GetAtt(repo, "RepositoryUri"), "Push the application image here")
    output(t, REPOSITORY_ARN, GetAtt(repo, "Arn"), "ARN of the ECR repository")
    return t


def _artifact_bucket(t: Template) -> Bucket:
    bucket = t.add_resource(
        Bucket(
            "ArtifactBucket",
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
            # Objects are content-addressed, so old versions are only needed for a while.
            LifecycleConfiguration=LifecycleConfiguration(
                Rules=[
                    LifecycleRule(
                        Id="expire-old-versions",
                        Status="Enabled",
                        NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=90),
                    )
                ]
            ),
            Metadata=scanner_skips(
                checkov={
                    "CKV_AWS_18": "Holds only packaged templates under content-hash keys, versioned (a replaced version is kept 90 days); "
                    "who wrote one is recorded only if the account's CloudTrail logs S3 data events, which this stack does not turn on"
                }
            ),
            **private_bucket_properties(),
        )
    )
    t.add_resource(
        BucketPolicy(
            "ArtifactBucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[tls_only_statement(GetAtt(bucket, "Arn"))]),
        )
    )
    return bucket


def _repository(t: Template, cfg: Config) -> Repository:
    rule = {
        "rulePriority": 1,
        "description": f"Keep last {cfg.registry.keep_images} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": cfg.registry.keep_images},
        "action": {"type": "expire"},
    }
    skips = {
        "CKV_AWS_136": "AES256 as in the seed: images hold application code and no secrets (those come from Secrets Manager at run time), "
        "so a customer key would add a key policy and cost without guarding a secret"
    }
    if cfg.registry.image_tag_mutability == "MUTABLE":
        # Chosen in config; the service still runs digests, but a tag may then name other bytes later.
        skips["CKV_AWS_51"] = "registry.image_tag_mutability is MUTABLE by choice: a tag can be moved to other bytes; tasks still run the digest they were deployed with"
    return t.add_resource(
        Repository(
            "Repository",
            RepositoryName=cfg.registry.repository_name,
            ImageTagMutability=cfg.registry.image_tag_mutability,
            ImageScanningConfiguration=ImageScanningConfiguration(ScanOnPush=cfg.registry.scan_on_push),
            EncryptionConfiguration=EcrEncryption(EncryptionType="AES256"),
            LifecyclePolicy=LifecyclePolicy(LifecyclePolicyText=json.dumps({"rules": [rule]}, sort_keys=True)),
            # Images are data: keep the repository if the stack is deleted or the name changes.
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            Metadata=scanner_skips(checkov=skips),
        )
    )
