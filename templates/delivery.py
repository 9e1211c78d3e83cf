"""Delivery stack, standalone (`NAME-delivery`, built only with `delivery.enabled`): GitHub's
OpenID Connect provider and the roles a GitHub Actions workflow of `delivery.repository` assumes
with a short-lived token instead of stored access keys.

The delivery role pushes images to this environment's ECR repository and nothing else; with
`delivery.release: deploy` it may also run `enrollcfn deploy` through change sets on the root
stack and its nested stacks, which CloudFormation executes as the existing role
`delivery.execution_role_name` (the only role it may pass, and only to CloudFormation). The plan
role (release: deploy, `delivery.plan_pull_requests`) is trusted by pull requests and may create,
read and delete change sets, never execute them.

Inputs (release: deploy only): RootStackName, ArtifactBucketName. Outputs: the constants below.
"""

from __future__ import annotations

from awacs import cloudformation as cfn, ecr, ecs, iam, route53, s3, sts
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals, StringLike
from troposphere import Ref, Sub, Tags, Template
from troposphere.iam import OIDCProvider, Policy, Role

from enrollcfn.config import Config
from enrollcfn.config.delivery import AUDIENCE, GITHUB_ISSUER
from enrollcfn.config.names import role_name
from enrollcfn.templates._helpers import output, param, scanner_skips
from enrollcfn.templates.bootstrap import ARTIFACT_BUCKET_NAME, publisher_tag
from enrollcfn.templates.catalog import ARTIFACT_PREFIX, PLAN_PREFIX

DELIVERY_ROLE_ARN = "DeliveryRoleArn"
PLAN_ROLE_ARN = "PlanRoleArn"
CLOUDFORMATION_ROLE_ARN = "CloudFormationRoleArn"
ROOT_STACK_NAME = "RootStackName"
_ARN = "arn:${AWS::Partition}"

# ECR: pushing an image needs these on the repository (Amazon ECR User Guide, "Required IAM
# permissions for pushing an image"); BatchGetImage lets a pushed manifest be read back.
PUSH_ACTIONS = [ecr.BatchCheckLayerAvailability, ecr.InitiateLayerUpload, ecr.UploadLayerPart, ecr.CompleteLayerUpload,
                ecr.PutImage, ecr.BatchGetImage, ecr.DescribeImages]
# What `enrollcfn deploy` calls on the root stack and its nested stacks (deploy.py, pipeline.py,
# progress.py); `plan` the same without executing, protecting or cancelling.
PLAN_STACK_ACTIONS = [cfn.CreateChangeSet, cfn.DescribeChangeSet, cfn.DeleteChangeSet, cfn.DescribeStacks,
                      cfn.DescribeStackEvents, cfn.ListStackResources, cfn.GetTemplate]
DEPLOY_STACK_ACTIONS = [*PLAN_STACK_ACTIONS, cfn.ExecuteChangeSet, cfn.SetStackPolicy, cfn.UpdateTerminationProtection,
                        cfn.CancelUpdateStack]
READ_STACK_ACTIONS = [cfn.DescribeStacks, cfn.DescribeStackEvents, cfn.ListStackResources, cfn.GetTemplate]


def provider_url() -> str:
    """The issuer URL the provider is registered under (the `iss` claim of GitHub's tokens)."""
    return f"https://{GITHUB_ISSUER}"


def delivery_role_name(cfg: Config) -> str:
    return role_name(cfg.project, cfg.environment, "delivery")


def plan_role_name(cfg: Config) -> str:
    return role_name(cfg.project, cfg.environment, "plan")


def build(cfg: Config) -> Template:
    """The delivery template for `cfg` (which has delivery.enabled)."""
    d = cfg.delivery
    t = Template(Description=f"{cfg.project} {cfg.environment}: GitHub Actions OIDC roles for {d.repository} (no stored keys)")
    t.set_version()
    provider = d.provider_arn or Ref(_provider(t))
    deploys = d.release == "deploy"
    stack = bucket = None
    if deploys:
        stack = param(t, ROOT_STACK_NAME, "String", "Root stack whose change sets the roles may create (enrollcfn deploy --stack)")
        bucket = param(t, ARTIFACT_BUCKET_NAME, "String", "Artifact bucket of the bootstrap stack, where deploys upload templates")
    push = _push_statements(cfg)
    extra = _stack_statements(cfg, stack, bucket, DEPLOY_STACK_ACTIONS, ARTIFACT_PREFIX) if deploys else []
    t.add_resource(_role(cfg, "DeliveryRole", delivery_role_name(cfg), provider, d.subjects(), push + extra, deploys, d.workflow_refs()))
    output(t, DELIVERY_ROLE_ARN, Sub("${DeliveryRole.Arn}"), "Role the workflow assumes (role-to-assume) on its branch or environment")
    if deploys:
        output(t, CLOUDFORMATION_ROLE_ARN, Sub(_execution_role_arn(cfg)), "Role CloudFormation runs the root stack's change sets as")
    if d.plans:
        # Pull requests' plans upload below plans/, which no deploy or publish reads (bootstrap's
        # bucket policy also denies this role every write below templates/).
        plan = _stack_statements(cfg, stack, bucket, PLAN_STACK_ACTIONS, PLAN_PREFIX)
        t.add_resource(_role(cfg, "PlanRole", plan_role_name(cfg), provider, [d.pull_request_subject()], plan, deploys,
                             d.pull_request_workflow_refs()))
        output(t, PLAN_ROLE_ARN, Sub("${PlanRole.Arn}"), "Role pull requests assume to run enrollcfn plan (no execute, no push)")
    return t


def _provider(t: Template) -> OIDCProvider:
    # An account holds one IAM OIDC provider per URL: "You cannot register the same provider
    # multiple times in a single AWS account" (IAM API Reference, CreateOpenIDConnectProvider).
    # Other environments of the account name this one in delivery.provider_arn; it is kept when
    # the stack is deleted, since they may still trust it. No ThumbprintList: IAM verifies
    # GitHub's certificate against its library of trusted root CAs (same page).
    return t.add_resource(OIDCProvider("GitHubProvider", Url=provider_url(), ClientIdList=[AUDIENCE],
                                       DeletionPolicy="Retain", UpdateReplacePolicy="Retain"))


def trust_policy(provider, subjects: list[str], workflows: list[str] | None = None) -> PolicyDocument:
    """Only tokens GitHub issued for `sts.amazonaws.com` and one of `subjects`: StringEquals on
    both claims, so a value is matched literally (config.delivery refuses wildcards anyway); and,
    with `workflows`, only jobs of that workflow file (the `job_workflow_ref` claim,
    `<owner>/<repo>/.github/workflows/<file>@<ref>`, https://docs.github.com/en/actions/reference/security/oidc):
    StringEquals for a branch, StringLike where the ref varies (pull requests' refs/pull/<n>/merge)."""
    claims = {f"{GITHUB_ISSUER}:aud": AUDIENCE, f"{GITHUB_ISSUER}:sub": subjects}
    conditions = [StringEquals(claims)]
    ref_key = f"{GITHUB_ISSUER}:job_workflow_ref"
    literal = [w for w in workflows or [] if "*" not in w]
    patterns = [w for w in workflows or [] if "*" in w]
    if literal:
        claims[ref_key] = literal
    if patterns:
        conditions.append(StringLike({ref_key: patterns}))
    return PolicyDocument(Version="2012-10-17", Statement=[
        Statement(Effect=Allow, Principal=Principal("Federated", provider), Action=[sts.AssumeRoleWithWebIdentity],
                  Condition=Condition(conditions))])  # fmt: skip


def _role(cfg: Config, logical_id: str, name: str, provider, subjects: list[str], statements: list, deploys: bool,
          workflows: list[str]) -> Role:
    skips = {"CKV_AWS_111": "ecr:GetAuthorizationToken has no resource-level permissions; every other action names its resource"}
    tags = {"project": cfg.project, "environment": cfg.environment}
    if deploys:  # the artifact bucket admits writes only from principals carrying this tag (bootstrap)
        tags[publisher_tag(cfg)] = "true"
    return Role(
        logical_id,
        RoleName=name,
        Description=f"GitHub Actions of {cfg.delivery.repository} for {cfg.project} {cfg.environment}",
        AssumeRolePolicyDocument=trust_policy(provider, subjects, workflows),
        # A deploy is followed for up to 60 minutes (deploy --timeout) after the image build.
        MaxSessionDuration=7200 if deploys else 3600,
        Policies=[Policy(PolicyName=name, PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
        Tags=Tags(**tags),
        Metadata=scanner_skips(checkov=skips) if logical_id == "DeliveryRole" else {},
    )


def _regional(service: str, rest: str) -> Sub:
    return Sub(f"{_ARN}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{rest}")


def _push_statements(cfg: Config) -> list[Statement]:
    repository = _regional("ecr", f"repository/{cfg.registry.repository_name}")
    return [
        Statement(Sid="PushToTheRepository", Effect=Allow, Action=PUSH_ACTIONS, Resource=[repository]),
        # GetAuthorizationToken has no resource-level permissions, so its Resource must be "*"
        # (Service Authorization Reference, Amazon ECR: no resource type for this action).
        Statement(Sid="RegistryLogin", Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
    ]


def _execution_role_arn(cfg: Config) -> str:
    return f"{_ARN}:iam::${{AWS::AccountId}}:role/{cfg.delivery.execution_role_name}"


def _stack_statements(cfg: Config, stack, bucket, actions: list, prefix: str) -> list[Statement]:
    """Change sets on the root stack and its nested stacks (named `<root>-<LogicalId>-<suffix>`)
    only; reads of the environment's other stacks; what deploy's preflight, upload and progress read."""
    from enrollcfn.templates import NESTED  # the registry imports this module's neighbours; read it when building
    root = f"stack/${{{ROOT_STACK_NAME}}}"
    stacks = [_regional("cloudformation", f"{root}/*"), *(_regional("cloudformation", f"{root}-{s.logical_id}-*/*") for s in NESTED)]
    objects = Sub(f"{_ARN}:s3:::${{{ARTIFACT_BUCKET_NAME}}}/{prefix}/*")
    cluster = cfg.cluster.name
    return [
        Statement(Sid="RootAndNestedStacks", Effect=Allow, Action=actions, Resource=stacks),
        Statement(Sid="ReadBootstrapAndDeliveryStacks", Effect=Allow, Action=READ_STACK_ACTIONS,
                  Resource=[_regional("cloudformation", f"{root}-*/*")]),
        # The only role CloudFormation may run as, and only CloudFormation may receive it.
        Statement(Sid="PassTheExecutionRole", Effect=Allow, Action=[iam.PassRole], Resource=[Sub(_execution_role_arn(cfg))],
                  Condition=Condition(StringEquals({"iam:PassedToService": "cloudformation.amazonaws.com"}))),
        Statement(Sid="UploadTemplates", Effect=Allow, Action=[s3.PutObject, s3.GetObject], Resource=[objects]),
        # Without ListBucket S3 answers 403 instead of 404 for a template not uploaded yet.
        Statement(Sid="FindTemplates", Effect=Allow, Action=[s3.ListBucket], Resource=[Sub(f"{_ARN}:s3:::${{{ARTIFACT_BUCKET_NAME}}}")]),
        Statement(Sid="ImageDigests", Effect=Allow, Action=[ecr.DescribeImages],
                  Resource=[_regional("ecr", f"repository/{cfg.registry.repository_name}")]),
        Statement(Sid="HostedZone", Effect=Allow, Action=[route53.GetHostedZone],
                  Resource=[Sub(f"{_ARN}:route53:::hostedzone/{cfg.dns.hosted_zone_id}")]),
        # deploy's progress lines; ListTasks is authorized on a container-instance ARN (Service
        # Authorization Reference, Amazon ECS), which this pattern limits to the cluster.
        Statement(Sid="Rollout", Effect=Allow, Action=[ecs.DescribeServices, ecs.DescribeTasks, ecs.ListTasks],
                  Resource=[_regional("ecs", f"service/{cluster}/{cfg.service.name}"), _regional("ecs", f"task/{cluster}/*"),
                            _regional("ecs", f"container-instance/{cluster}/*")]),
    ]  # fmt: skip
