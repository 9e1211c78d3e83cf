"""What `compliance: control-tower` adds to the stacks, for the AWS Control Tower proactive
controls that no config setting holds (the settings themselves are checked by the config:
enrollcfn.config.model.control_tower_problems). With `compliance: default` every helper here adds
nothing, so the default templates do not change.

- CT.CLOUDWATCH.PR.3: every log group under a customer managed key, `LogKey`, made by the network
  stack (the first) and passed to the others as the Parameter LogKeyArn.
- CT.LAMBDA.PR.3: every function in the private subnets, in `FunctionSecurityGroup` (HTTPS out,
  through the NAT, to the AWS APIs it calls), made by the network stack and passed as the
  Parameters PrivateSubnetIds and FunctionSecurityGroupId.
- CT.RDS.PR.30: the database's storage under a customer managed key of the database stack.
- CT.S3.PR.2, PR.9, PR.10 for the artifact bucket: SSE-KMS (the AWS-managed S3 key, so every
  principal of the account that may read the bucket still can), Object Lock, and server access
  logs into a bucket of the bootstrap stack's own, which logs itself, under a customer key.

Every key rotates yearly and allows kms:CreateGrant only for AWS services (CT.KMS.PR.1/PR.3).
"""

from __future__ import annotations

import re

from awacs import ec2 as awacs_ec2, kms, s3 as awacs_s3
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import AccountId, GetAtt, Join, Ref, Sub, Template
from troposphere.awslambda import VPCConfig
from troposphere.ec2 import SecurityGroup, SecurityGroupRule
from troposphere.kms import Key
from troposphere.s3 import (
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    LoggingConfiguration,
    NoncurrentVersionExpiration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from enrollcfn.config import Config
from enrollcfn.templates._helpers import grants_for_aws_services_only, name_tags, output, param, private_bucket_properties, tls_only_statement

LOG_KEY_ARN = "LogKeyArn"
FUNCTION_SECURITY_GROUP_ID = "FunctionSecurityGroupId"
LOG_KEY = "LogKey"
FUNCTION_SECURITY_GROUP = "FunctionSecurityGroup"
SERVER_ACCESS_LOG_BUCKET = "ServerAccessLogBucket"


def enabled(cfg: Config) -> bool:
    return cfg.compliance == "control-tower"


def key(cfg: Config, title: str, description: str, role: str, *statements: Statement) -> Key:
    """A customer managed key: the account administers it, `statements` let services use it."""
    policy = [
        Statement(Sid="Account", Effect=Allow, Principal=Principal("AWS", AccountId), Action=[kms.Action("*")], Resource=["*"]),
        *statements,
        grants_for_aws_services_only(),
    ]
    # Tagged: the launch role may change only keys named ours (a key is known only by its id).
    return Key(title, Description=description, EnableKeyRotation=True, Tags=name_tags(cfg, role),
               KeyPolicy=PolicyDocument(Version="2012-10-17", Statement=policy))


def _shared(t: Template, name: str, type_: str, description: str) -> Ref:
    """The Parameter `name` of `t`, added if the stack does not have it yet."""
    if name not in t.parameters:
        param(t, name, type_, description)
    return Ref(name)


# -- the network stack ------------------------------------------------------------------------


def network(t: Template, cfg: Config, vpc) -> None:
    """The log key and the functions' security group, with their Outputs."""
    if not enabled(cfg):
        return
    logs_service = Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com"))
    use = Statement(
        Sid="CloudWatchLogs",
        Effect=Allow,
        Principal=logs_service,
        Action=[kms.Action("Encrypt*"), kms.Action("Decrypt*"), kms.Action("ReEncrypt*"), kms.Action("GenerateDataKey*"), kms.Action("Describe*")],
        Resource=["*"],
        Condition=Condition(ArnLike({"kms:EncryptionContext:aws:logs:arn": Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")})),
    )
    log_key = t.add_resource(key(cfg, LOG_KEY, f"Encrypts the {cfg.project} {cfg.environment} log groups", "log-key", use))
    group = t.add_resource(
        SecurityGroup(
            FUNCTION_SECURITY_GROUP,
            GroupDescription="Lambda functions: HTTPS out to the AWS APIs, nothing in",
            VpcId=Ref(vpc),
            SecurityGroupEgress=[SecurityGroupRule(IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0", Description="HTTPS to AWS APIs through the NAT gateway")],
            Tags=name_tags(cfg, "function-sg"),
        )
    )
    output(t, LOG_KEY_ARN, GetAtt(log_key, "Arn"), "Customer managed key of every log group (compliance: control-tower)")
    output(t, FUNCTION_SECURITY_GROUP_ID, GetAtt(group, "GroupId"), "Security group of the Lambda functions (compliance: control-tower)")


def log_encryption(t: Template, cfg: Config) -> dict:
    """A log group's KmsKeyId: the network stack's LogKey (its own resource there, a Parameter elsewhere)."""
    if not enabled(cfg):
        return {}
    if LOG_KEY in t.resources:
        return {"KmsKeyId": GetAtt(LOG_KEY, "Arn")}
    return {"KmsKeyId": _shared(t, LOG_KEY_ARN, "String", "Customer managed key of the log groups (the network stack's)")}


def function_vpc(t: Template, cfg: Config) -> dict:
    """A function's VpcConfig: the private subnets and the functions' security group."""
    if not enabled(cfg):
        return {}
    from enrollcfn.templates.network import PRIVATE_SUBNET_IDS  # here: templates.network imports this module

    if FUNCTION_SECURITY_GROUP in t.resources:
        subnets = [Ref(title) for title in sorted(t.resources) if re.fullmatch(r"PrivateSubnet\d+", title)]
        group = GetAtt(FUNCTION_SECURITY_GROUP, "GroupId")
    else:
        subnets = _shared(t, PRIVATE_SUBNET_IDS, "List<AWS::EC2::Subnet::Id>", "Private subnets the functions run in")
        group = _shared(t, FUNCTION_SECURITY_GROUP_ID, "AWS::EC2::SecurityGroup::Id", "Security group of the Lambda functions")
    return {"VpcConfig": VPCConfig(SubnetIds=subnets, SecurityGroupIds=[group])}


def function_vpc_statements(cfg: Config) -> list[Statement]:
    """What a function in a VPC needs of EC2 (the AWSLambdaVPCAccessExecutionRole managed policy's
    actions; none has resource-level permissions)."""
    if not enabled(cfg):
        return []
    return [Statement(Effect=Allow, Resource=["*"], Action=[
        awacs_ec2.CreateNetworkInterface, awacs_ec2.DescribeNetworkInterfaces, awacs_ec2.DescribeSubnets, awacs_ec2.DeleteNetworkInterface,
        awacs_ec2.AssignPrivateIpAddresses, awacs_ec2.UnassignPrivateIpAddresses,
    ])]  # fmt: skip


def boundary_statements(cfg: Config) -> list[tuple[str, list[str], list[str]]]:
    """The permissions boundary's room for functions in the VPC (see function_vpc_statements)."""
    if not enabled(cfg):
        return []
    return [("FunctionsInVpc", ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                                "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"], ["*"])]


def launch_actions(cfg: Config) -> list[str]:
    """What the Service Catalog launch role needs besides its resource types' actions for the
    properties only control-tower sets (templates/_launch_actions.py NOT_NEEDED says why the
    default leaves them out): a log group's KmsKeyId, the database's customer key (RDS creates
    its grants with the caller's rights)."""
    if not enabled(cfg):
        return []
    return ["logs:AssociateKmsKey", "logs:DisassociateKmsKey", "kms:CreateGrant"]


# -- the database stack -----------------------------------------------------------------------


def database_encryption(t: Template, cfg: Config) -> dict:
    """The instance's KmsKeyId: a customer managed key of the database stack (RDS uses it through
    grants it makes for itself). Set only at creation: RDS cannot change an instance's key."""
    if not enabled(cfg):
        return {}
    db_key = t.add_resource(key(cfg, "DatabaseKey", f"Encrypts the {cfg.project} {cfg.environment} database storage", "database-key"))
    return {"KmsKeyId": GetAtt(db_key, "Arn")}


# -- the bootstrap stack ----------------------------------------------------------------------


def artifact_bucket(t: Template, cfg: Config) -> dict:
    """The artifact bucket's properties under control-tower: SSE-KMS with the AWS-managed key,
    Object Lock, and server access logs into a bucket made here."""
    if not enabled(cfg):
        return {}
    logs = _server_access_log_bucket(t, cfg)
    return {
        "BucketEncryption": _kms_encryption(None),
        "ObjectLockEnabled": True,
        "LoggingConfiguration": LoggingConfiguration(DestinationBucketName=Ref(logs), LogFilePrefix="artifact-bucket/"),
    }


def _kms_encryption(key_arn) -> BucketEncryption:
    default = ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", **({"KMSMasterKeyID": key_arn} if key_arn is not None else {}))
    return BucketEncryption(ServerSideEncryptionConfiguration=[ServerSideEncryptionRule(ServerSideEncryptionByDefault=default, BucketKeyEnabled=True)])


def _server_access_log_bucket(t: Template, cfg: Config) -> Bucket:
    """S3 server access logs of the artifact bucket. S3 delivers them only to a bucket of the same
    account and Region, and to an SSE-KMS bucket only under a customer managed key whose policy
    lets the logging service use it. The bucket logs itself too (CT.S3.PR.2 has no exemption for a
    log bucket): each delivery is a request that the next delivery records, a trickle of small
    objects that expire with the rest."""
    source = Condition(StringEquals({"aws:SourceAccount": AccountId}))
    storage_key = t.add_resource(
        key(cfg, "ServerAccessLogKey", f"Encrypts the {cfg.project} {cfg.environment} S3 server access logs", "server-access-log-key",
            Statement(Sid="S3ServerAccessLogging", Effect=Allow, Principal=Principal("Service", "logging.s3.amazonaws.com"),
                      Action=[kms.Action("GenerateDataKey*"), kms.Decrypt], Resource=["*"], Condition=source))
    )  # fmt: skip
    properties = {**private_bucket_properties(), "BucketEncryption": _kms_encryption(GetAtt(storage_key, "Arn"))}
    bucket = t.add_resource(
        Bucket(
            SERVER_ACCESS_LOG_BUCKET,
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            ObjectLockEnabled=True,
            VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
            LoggingConfiguration=LoggingConfiguration(LogFilePrefix="server-access-log-bucket/"),
            LifecycleConfiguration=LifecycleConfiguration(Rules=[LifecycleRule(
                Id="expire-server-access-logs", Status="Enabled", ExpirationInDays=cfg.logs.retention_days,
                NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=1))]),
            **properties,
        )
    )  # fmt: skip
    arn = GetAtt(bucket, "Arn")
    deliver = Statement(
        Sid="S3ServerAccessLogDelivery",
        Effect=Allow,
        Principal=Principal("Service", "logging.s3.amazonaws.com"),
        Action=[awacs_s3.PutObject],
        Resource=[Join("", [arn, "/*"])],
        Condition=source,
    )
    t.add_resource(BucketPolicy("ServerAccessLogBucketPolicy", Bucket=Ref(bucket),
                                PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[tls_only_statement(arn), deliver])))
    return bucket

