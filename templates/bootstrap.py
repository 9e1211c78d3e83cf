"""Bootstrap stack, deployed on its own before the root: the artifact bucket that holds the
packaged templates and Lambda code, the ECR repository the service pulls from, and the
permissions boundary every role of the product carries.

The repository lives here, not in the nested set, so an image can be pushed before the service
exists (a service created before its image hangs the stack for hours). The boundary lives here so
it exists before any product role, and outside the product, so the launch role cannot change it.
With catalog.organization_id, the bucket also lets the launch roles of that organization's
accounts read the packaged templates (a portfolio shared with them launches there).
The boundary's name is account-wide (IAM is global), so it is created only in the config's region:
the same template deployed to other regions of the account holds the bucket and the repository
there and refers to the one boundary by its ARN.
Inputs: the Parameter PublisherArns (optional). Outputs: the constants below.
"""

from __future__ import annotations

import json

from troposphere import GetAtt, If, Join, Not, Equals, Ref, Sub, Template
from troposphere.ecr import ImageScanningConfiguration, LifecyclePolicy, Repository
from troposphere.ecr import EncryptionConfiguration as EcrEncryption
from troposphere.iam import ManagedPolicy
from troposphere.s3 import (
    Bucket,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    NoncurrentVersionExpiration,
    VersioningConfiguration,
)

from enrollcfn.config import Config
from enrollcfn.config.names import launch_role, role_name
from enrollcfn.templates import _control_tower
from enrollcfn.templates._helpers import output, param, private_bucket_properties, scanner_skips, tls_only_statement
from enrollcfn.templates._launch_scopes import PRODUCT_SECRET_ARN_NAMES

ARTIFACT_BUCKET_NAME = "ArtifactBucketName"
REPOSITORY_NAME = "RepositoryName"
REPOSITORY_URI = "RepositoryUri"
REPOSITORY_ARN = "RepositoryArn"
PERMISSIONS_BOUNDARY_ARN = "PermissionsBoundaryArn"
PUBLISHER_ARNS = "PublisherArns"
HOME_REGION = "IsHomeRegion"  # the Condition that creates the account-wide boundary in the config's region only
_ARN = "arn:${AWS::Partition}"


def boundary_name(cfg: Config) -> str:
    """`<project>-<environment>-boundary`: at most 74 characters (project and environment are at
    most 32 each), within IAM's 128 for a managed policy name."""
    return f"{cfg.project}-{cfg.environment}-boundary"


def boundary_policy_arn(cfg: Config) -> str:
    """The boundary's ARN as a Sub string (the name is fixed by the config, so no lookup)."""
    return f"{_ARN}:iam::${{AWS::AccountId}}:policy/{boundary_name(cfg)}"


def boundary_arn(cfg: Config) -> Sub:
    """The boundary's ARN, for a role's PermissionsBoundary and the launch role's conditions."""
    return Sub(boundary_policy_arn(cfg))


def role_path(cfg: Config) -> str:
    """`/<project>/<environment>/`: the path of every product role, so its ARNs can be matched."""
    return f"/{cfg.project}/{cfg.environment}/"


def product_role(cfg: Config) -> dict:
    """The properties every role of the product templates carries: its path and the boundary."""
    return {"Path": role_path(cfg), "PermissionsBoundary": boundary_arn(cfg)}


def publisher_tag(cfg: Config) -> str:
    """The principal tag key (value `true`) that lets a principal write to the artifact bucket."""
    return f"{cfg.project}-{cfg.environment}-publisher"


def build(cfg: Config) -> Template:
    """The bootstrap template for `cfg`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: artifact bucket and ECR repository (deployed before the root stack)")
    t.set_version()
    bucket = _artifact_bucket(t, cfg)
    repository = cfg.registry.repository_name
    # IAM names are global to the account: a second region creating the same policy name would
    # fail with "already exists", so only the config's region (the account's home) creates it.
    t.add_condition(HOME_REGION, Equals(Ref("AWS::Region"), cfg.region))
    t.add_resource(
        ManagedPolicy(
            "PermissionsBoundary",
            Condition=HOME_REGION,
            ManagedPolicyName=boundary_name(cfg),
            Description=f"{cfg.project} {cfg.environment}: the most any role of the product may do",
            PolicyDocument=boundary_document(cfg),
        )
    )
    output(t, ARTIFACT_BUCKET_NAME, Ref(bucket), "Bucket that holds packaged templates and Lambda code")
    if cfg.registry.create:
        repo = _repository(t, cfg)
        name, uri, arn = Ref(repo), GetAtt(repo, "RepositoryUri"), GetAtt(repo, "Arn")
    else:  # another environment's repository, whose images this one runs: its owner keeps it
        name = repository
        uri = Sub(f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{repository}")
        arn = Sub(f"{_ARN}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{repository}")
    output(t, REPOSITORY_NAME, name, "ECR repository of the application image")
    output(t, REPOSITORY_URI, uri, "Push the application image here")
    output(t, REPOSITORY_ARN, arn, "ARN of the ECR repository")
    output(t, PERMISSIONS_BOUNDARY_ARN, boundary_arn(cfg), "Permissions boundary of every role the product creates (created in the config's region)")
    return t


def boundary_document(cfg: Config) -> dict:
    """What the product's roles may do at most: the union of what the task, execution, flow-log,
    redeploy, RDS monitoring and custom-resource roles need; of IAM only passing the service's
    roles to ECS tasks (the redeploy function registers task-definition revisions)."""
    def regional(service: str, rest: str) -> str:
        return f"{_ARN}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{rest}"

    bucket = cfg.service.app_bucket
    allow = [
        ("ImagePull", ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
         [regional("ecr", f"repository/{cfg.registry.repository_name}")]),
        # GetAuthorizationToken and DetectFaces have no resource-level permissions.
        ("NoResourceLevel", ["ecr:GetAuthorizationToken", "rekognition:DetectFaces"], ["*"]),
        ("Logs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:PutRetentionPolicy",
                  "logs:GetLogEvents"], [regional("logs", "log-group:*")]),
        # Only the product's secrets: its application secret and its database user's, named by
        # CloudFormation after their logical ids (templates/_launch_scopes.py), and the database's
        # master secret, which RDS names `rds!db-<uuid>` ("Password management with Amazon RDS and
        # AWS Secrets Manager", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html).
        # Nothing in that name or in a tag only AWS sets tells this product's database from another
        # of the account: its identifier is generated from a stack name this boundary, deployed
        # before the product, cannot know. Refusing `rds!db-*` would stop the release's database-user
        # task (its execution role reads the master's password), so it is kept and stated in docs/security.md; no
        # principal but RDS can create a secret of that name (secret names allow only letters,
        # digits and /_+=.@-), and every other secret of the account stays out of reach.
        ("Secrets", ["secretsmanager:GetSecretValue"], [*(regional("secretsmanager", name) for name in PRODUCT_SECRET_ARN_NAMES),
                                                        regional("secretsmanager", "secret:rds!db-*")]),
        ("AppBucketObjects", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [f"{_ARN}:s3:::{bucket}/*"]),
        ("AppBucketList", ["s3:ListBucket"], [f"{_ARN}:s3:::{bucket}"]),
        # A release (the redeploy function, as which CloudFormation updates the stacks): the one
        # service, the task definitions, the product's stacks, the one-off task function and the
        # nested templates (the handlers' permissions of AWS::ECS::Service, AWS::ECS::TaskDefinition
        # and AWS::CloudFormation::Stack in the CloudFormation registry schemas).
        ("Redeploy", ["ecs:UpdateService", "ecs:DescribeServices", "ecs:DescribeServiceDeployments", "ecs:ListServiceDeployments",
                      "ecs:StopServiceDeployment", "ecs:ListTagsForResource", "ecs:TagResource", "ecs:UntagResource"],
         [regional("ecs", f"service/{cfg.cluster.name}/{cfg.service.name}")]),
        ("ReleaseStacks", ["cloudformation:DescribeStacks", "cloudformation:UpdateStack", "cloudformation:GetTemplate", "cloudformation:GetStackPolicy",
                           "cloudformation:SetStackPolicy", "cloudformation:UpdateTerminationProtection"], [regional("cloudformation", "stack/*")]),
        ("ReleaseTemplates", ["s3:GetObject"], [f"{_ARN}:s3:::*/templates/*"]),
        ("ReleaseTasks", ["lambda:InvokeFunction"], [regional("lambda", "function:*")]),
        # A progressive release: ECS moves the listener rules' weights with the traffic role
        # (AWS's AmazonECSInfrastructureRolePolicyForLoadBalancers); Describe has no resource level.
        ("ReleaseTrafficReads", ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
                                 "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"], ["*"]),
        ("ReleaseTraffic", ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:ModifyListener",
                            "elasticloadbalancing:ModifyRule"], [regional("elasticloadbalancing", "*")]),
        # The release's one-off tasks (the database user, the migrations): run in this cluster only.
        ("OneOffTasks", ["ecs:RunTask", "ecs:TagResource"], [regional("ecs", f"task-definition/{cfg.service.name}*")]),
        ("OneOffTaskState", ["ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"], [regional("ecs", f"task/{cfg.cluster.name}/*")]),
        # Task-definition reads, registrations and deregistrations have no resource-level permissions in IAM.
        ("TaskDefinitions", ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition"], ["*"]),
        ("PassServiceRoles", ["iam:PassRole"], [f"{_ARN}:iam::${{AWS::AccountId}}:role{role_path(cfg)}*"]),
        # The custom resource that closes the VPC's default security group (EC2.2).
        ("DefaultSecurityGroup", ["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"], [regional("ec2", "security-group/*")]),
        ("DeadLetters", ["sqs:SendMessage"], [regional("sqs", "*")]),
        # ECS Exec (service.exec_enabled): the SSM agent in the task opens its channels and looks
        # up the session log group with the task role ("Running commands using ECS Exec",
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec-run.html); none of
        # these has resource-level permissions. A role's effective permissions are the
        # intersection of its policies and this boundary ("Permissions boundaries for IAM
        # entities", https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html),
        # so without them exec never connects. Allowed whatever service.exec_enabled says: the
        # boundary is deployed with the bootstrap stack, before and apart from the product (and by
        # `enrollcfn stackset` to many accounts), so a config that turns exec on must not need the
        # bootstrap redeployed everywhere first; a boundary only caps, and the task role is given
        # these actions only when exec is on.
        ("ExecSessions", ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
                          "ssmmessages:OpenDataChannel", "logs:DescribeLogGroups"], ["*"]),
        *_control_tower.boundary_statements(cfg),  # compliance: control-tower: functions in the VPC
    ]  # fmt: skip
    statements = [{"Sid": sid, "Effect": "Allow", "Action": a, "Resource": [r if r == "*" else Sub(r) for r in res]} for sid, a, res in allow]
    # Of IAM the roles only pass the service's roles to ECS tasks and read them (CloudFormation's
    # task-definition handler calls iam:GetRole): explicit denies keep a future allow here from
    # reopening role creation, policy changes or removing this boundary.
    to_ecs = {"iam:PassedToService": ["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"]}  # task roles; the traffic role
    next(s for s in statements if s["Sid"] == "PassServiceRoles")["Condition"] = {"StringEquals": to_ecs}
    statements.append({"Sid": "ReadServiceRoles", "Effect": "Allow", "Action": ["iam:GetRole"], "Resource": [Sub(f"{_ARN}:iam::${{AWS::AccountId}}:role{role_path(cfg)}*")]})
    # Every IAM action that changes anything starts with one of these verbs (Service Authorization
    # Reference, "Actions defined by AWS Identity and Access Management"); reads stay unallowed.
    writes = ["Add", "Attach", "Change", "Create", "Deactivate", "Delete", "Detach", "Enable", "Put", "Remove", "Reset", "Resync",
              "Set", "Tag", "Untag", "Update", "Upload"]
    statements.append({"Sid": "NoIam", "Effect": "Deny", "Action": [f"iam:{verb}*" for verb in writes], "Resource": ["*"]})
    statements.append({"Sid": "PassOnlyToEcsTasks", "Effect": "Deny", "Action": ["iam:PassRole"], "Resource": ["*"],
                       "Condition": {"StringNotEquals": to_ecs}})
    return {"Version": "2012-10-17", "Statement": statements}


def _artifact_bucket(t: Template, cfg: Config) -> Bucket:
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
            **{**private_bucket_properties(), **_control_tower.artifact_bucket(t, cfg)},
            Metadata=scanner_skips(
                checkov={
                    "CKV_AWS_18": "Holds only packaged templates under content-hash keys, versioned (a replaced version is kept 90 days); "
                    "who wrote one is recorded only if the account's CloudTrail logs S3 data events, which this stack does not turn on"
                }
            ),
        )
    )
    publishers = param(
        t, PUBLISHER_ARNS, "CommaDelimitedList",
        f"Role or user ARNs (wildcards allowed) that may write to the artifact bucket, besides principals tagged {publisher_tag(cfg)}=true",
        Default="",
    )  # fmt: skip
    t.add_condition("HasPublisherArns", Not(Equals(Join("", Ref(publishers)), "")))
    t.add_resource(
        BucketPolicy(
            "ArtifactBucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument={"Version": "2012-10-17", "Statement": [tls_only_statement(GetAtt(bucket, "Arn")), _publishers_only(cfg, bucket, publishers),
                                                                   _plans_only(cfg, bucket), *_organization_reads(cfg, bucket)]},
        )
    )
    return bucket


def _publishers_only(cfg: Config, bucket: Bucket, publishers) -> dict:
    """Only publishers write: what a provisioned product runs is the object version its URL names,
    and nobody else may add, replace or delete versions, or stop versioning."""
    not_tagged = {"StringNotEquals": {f"aws:PrincipalTag/{publisher_tag(cfg)}": "true"}}
    return {
        "Sid": "OnlyPublishersWrite",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging", "s3:PutObjectVersionTagging",
                   "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration"],
        "Resource": [GetAtt(bucket, "Arn"), Join("", [GetAtt(bucket, "Arn"), "/*"])],
        # Denied unless tagged as a publisher and (when the list is set) not one of the named ARNs.
        "Condition": If("HasPublisherArns", {**not_tagged, "ArnNotLike": {"aws:PrincipalArn": Ref(publishers)}}, not_tagged),
    }  # fmt: skip


def _plans_only(cfg: Config, bucket: Bucket) -> dict:
    """The pull requests' plan role (delivery stack, `<project>-<environment>-plan`) carries the
    publisher tag, yet writes nowhere but below the plan prefix, which no deploy, publish or launch
    reads: what a pull request may write never becomes what runs. Stated here as well as in the
    role's own policy, so a later grant on the role cannot reopen it."""
    from enrollcfn.templates.catalog import PLAN_PREFIX  # catalog.py imports this module

    plan_role = f"{_ARN}:iam::${{AWS::AccountId}}:role/{role_name(cfg.project, cfg.environment, 'plan')}"
    return {
        "Sid": "PlanRoleWritesOnlyPlans",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging", "s3:PutObjectVersionTagging",
                   "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration",
                   "s3:PutBucketPolicy"],
        "NotResource": [Join("", [GetAtt(bucket, "Arn"), f"/{PLAN_PREFIX}/*"])],
        "Condition": {"ArnEquals": {"aws:PrincipalArn": Sub(plan_role)}},
    }  # fmt: skip


def _organization_reads(cfg: Config, bucket: Bucket) -> list[dict]:
    """With catalog.organization_id, the launch roles of the accounts the portfolio is shared with
    read the packaged templates: CloudFormation there fetches each nested TemplateURL, in this
    bucket, as that account's launch role. Only a role of the launch role's name (the same in
    every account: the launch constraint's LocalRoleName) in that organization, only below the
    templates prefix, and only reads: the bucket policy must grant it, since the role's own
    policy cannot reach across accounts (IAM policy evaluation, cross-account requests)."""
    if not cfg.catalog.organization_id:
        return []
    from enrollcfn.templates.catalog import ARTIFACT_PREFIX  # catalog.py imports this module

    role = f"arn:${{AWS::Partition}}:iam::*:role/{launch_role(cfg.project, cfg.environment)}"
    # Principal "*" narrowed by a fixed aws:PrincipalOrgID: S3's documented list of what makes a
    # policy non-public (Block Public Access) does not name this key, though such policies are
    # accepted in practice; not measured here (docs/catalog.md, sharing).
    return [{
        "Sid": "OrganizationLaunchRolesRead",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": [Join("", [GetAtt(bucket, "Arn"), f"/{ARTIFACT_PREFIX}/*"])],
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": cfg.catalog.organization_id}, "ArnLike": {"aws:PrincipalArn": Sub(role)}},
    }]  # fmt: skip


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
