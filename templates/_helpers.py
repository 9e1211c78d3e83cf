"""Small shared helpers for the stack modules.

`param` and `output` make a Description mandatory by signature; `scanner_skips` writes the
in-template suppressions that checkov and cfn-lint read, each with its reason.
"""

from __future__ import annotations

from awacs import s3 as awacs_s3
from awacs.aws import Action, Allow, Bool, BoolIfExists, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import AccountId, Join, Output, Parameter, Tags, Template
from troposphere.awslambda import Code
from troposphere.s3 import (
    BucketEncryption,
    EventBridgeConfiguration,
    NotificationConfiguration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
)

from enrollcfn.config import Config
from enrollcfn.errors import CompileError

# CloudFormation documented 4096 characters for Code.ZipFile until 2022 and has since removed the
# limit (the AWS CDK dropped its own check then, aws-cdk#20624); a bound of our own keeps each
# function small enough to review in the template itself.
INLINE_LIMIT = 8192


def param(t: Template, name: str, type_: str, description: str, **kwargs) -> Parameter:
    """Add a Parameter; every Parameter carries a Description."""
    return t.add_parameter(Parameter(name, Type=type_, Description=description, **kwargs))


def output(t: Template, name: str, value, description: str) -> Output:
    """Add an Output (never exported: values travel through the root by name)."""
    return t.add_output(Output(name, Value=value, Description=description))


def scanner_skips(checkov: dict[str, str] | None = None, cfn_lint: dict[str, str] | None = None) -> dict:
    """Resource Metadata that suppresses named scanner checks, each with the reason it is safe.

    cfn-lint reads only the ids; the reasons stay next to them in the template for reviewers.
    """
    meta: dict = {}
    if checkov:
        meta["checkov"] = {"skip": [{"id": k, "comment": v} for k, v in sorted(checkov.items())]}
    if cfn_lint:
        meta["cfn-lint"] = {"config": {"ignore_checks": sorted(cfn_lint)}}
        meta["cfn-lint-reasons"] = dict(sorted(cfn_lint.items()))
    return meta


def name(cfg: Config, role: str) -> str:
    """A readable Name tag value: `<project>-<environment>-<role>`."""
    return f"{cfg.project}-{cfg.environment}-{role}"


def name_tags(cfg: Config, role: str) -> Tags:
    """Tags with a Name; project and environment tags come from the stack itself."""
    return Tags(Name=name(cfg, role))


def service_role_trust(service: str):
    """A trust policy for one AWS service principal, limited to this account (confused deputy)."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Service", service),
                Action=[AssumeRole],
                Condition=Condition(StringEquals({"aws:SourceAccount": AccountId})),
            )
        ],
    )


def grants_for_aws_services_only() -> Statement:
    """A key policy statement: kms:CreateGrant is denied unless the grant is for an AWS resource
    or the caller is an AWS service (Control Tower CT.KMS.PR.3, in the exact form its rule reads)."""
    return Statement(
        Sid="GrantsForAwsServicesOnly",
        Effect=Deny,
        Principal=Principal("AWS", "*"),
        Action=[Action("kms", "CreateGrant")],
        Resource=["*"],
        Condition=Condition(BoolIfExists({"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"})),
    )


def tls_only_statement(bucket_arn):
    """Deny any request to the bucket that does not use TLS (Security Hub S3.5)."""
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[awacs_s3.Action("*")],
        Resource=[bucket_arn, Join("", [bucket_arn, "/*"])],
        Condition=Condition(Bool({"aws:SecureTransport": "false"})),
    )


def private_bucket_properties() -> dict:
    """Encryption, no ACLs and every public-access block (S3.2/3/8/12), and the bucket's events on
    the account's default EventBridge bus (Control Tower CT.S3.PR.4; free: an event costs only when
    a rule matches it)."""
    return dict(
        NotificationConfiguration=NotificationConfiguration(EventBridgeConfiguration=EventBridgeConfiguration(EventBridgeEnabled=True)),
        BucketEncryption=BucketEncryption(
            ServerSideEncryptionConfiguration=[
                ServerSideEncryptionRule(ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))
            ]
        ),
        OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
        ),
    )


def inline_code(stack: str, filename: str, source: str) -> Code:
    """A function's code inline in the template, or CompileError when it no longer fits.

    Inline keeps build/ templates-only: the Service Catalog product and the deploy need no zip
    in a bucket before the stack exists, and the reviewed source is the deployed source, byte for
    byte (CloudFormation writes it to index.py and zips it, so the hash follows the source). Past
    the limit the source must be packaged instead.
    """
    if len(source) > INLINE_LIMIT:
        raise CompileError(stack, f"{filename} has {len(source)} characters; Code.ZipFile allows {INLINE_LIMIT}: shorten it or package it as a zip")
    return Code(ZipFile=source)
