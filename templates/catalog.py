"""Catalog stack, deployed on its own as `<stack>-catalog`: the Service Catalog launch role.

Service Catalog assumes this role to create, update and delete the product (the root stack and
its children) for end users who have no rights of their own. Its permissions are derived from the
resource types that appear in the compiled product templates (see _launch_actions.py): the
CloudFormation stack actions, the actions of each resource type present and nothing else, plus
s3:GetObject on the packaged templates. No managed `*FullAccess` policy is attached.

Inputs: the product's resource types (from the compiler) and the Parameter ArtifactBucketName
(the bootstrap stack's output of that name). Outputs: LaunchRoleArn.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from awacs.aws import Action, Allow, Policy, Principal, Statement
from awacs.sts import AssumeRole
from troposphere import GetAtt, Ref, Sub, Template
from troposphere.iam import Policy as RolePolicy
from troposphere.iam import Role

from enrollcfn.config import Config
from enrollcfn.errors import CompileError
from templates._helpers import output, param
from templates._launch_actions import RESOURCE_ACTIONS, unscoped
from templates.bootstrap import ARTIFACT_BUCKET_NAME

LAUNCH_ROLE_ARN = "LaunchRoleArn"
# Key prefix of the packaged templates in the artifact bucket; the role may read only below it.
ARTIFACT_PREFIX = "templates"
# Service Catalog names a provisioned product's stack `SC-<account>-pp-<id>`; CloudFormation
# derives the names of nested stacks, roles and buckets from it, so they share the prefix.
_SC_STACK = "SC-*"
_SC_BUCKET = "sc-*"
_ARN = "arn:${AWS::Partition}"
# Reading the template is all Service Catalog asks of the role before the stack exists.
_BASE_ACTIONS = ("cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate")


def launch_actions(resource_types: Iterable[str]) -> list[str]:
    """The IAM actions needed to provision stacks made of `resource_types`, sorted.

    Raises CompileError naming a resource type that has no entry in the action table."""
    actions = set(_BASE_ACTIONS) | set(RESOURCE_ACTIONS["AWS::CloudFormation::Stack"])
    for rtype in sorted(set(resource_types)):
        if rtype not in RESOURCE_ACTIONS:
            raise CompileError(
                "catalog",
                f"resource type {rtype} has no entry in templates/_launch_actions.py; "
                "add the IAM actions that create, update and delete it",
            )
        actions.update(RESOURCE_ACTIONS[rtype])
    return sorted(actions)


def build(cfg: Config, resource_types: Iterable[str]) -> Template:
    """The catalog template: a launch role for a product made of `resource_types`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: Service Catalog launch role (deployed before publishing)")
    t.set_version()
    bucket = param(t, ARTIFACT_BUCKET_NAME, "String", "Artifact bucket of the bootstrap stack (its ArtifactBucketName output)")
    role = t.add_resource(
        Role(
            "LaunchRole",
            # The trust AWS documents for launch roles: Service Catalog is not documented to
            # pass aws:SourceAccount, and a condition it does not meet would break every launch.
            AssumeRolePolicyDocument=Policy(
                Version="2012-10-17",
                Statement=[Statement(Effect=Allow, Principal=Principal("Service", "servicecatalog.amazonaws.com"), Action=[AssumeRole])],
            ),
            Policies=[RolePolicy(PolicyName="provision-product", PolicyDocument=_policy(cfg, launch_actions(resource_types), bucket))],
        )
    )
    output(t, LAUNCH_ROLE_ARN, GetAtt(role, "Arn"), "Role Service Catalog assumes to provision the product")
    return t


def _policy(cfg: Config, actions: list[str], bucket) -> Policy:
    """One statement per service, scoped to this account and region (or tighter), one for the
    actions that accept only Resource "*", and read access to the packaged templates."""
    by_service: dict[str, list[str]] = defaultdict(list)
    for action in actions:
        by_service["*" if unscoped(action) else action.split(":", 1)[0]].append(action)
    statements = [
        Statement(
            Sid="ReadPackagedTemplates",
            Effect=Allow,
            Action=[Action("s3", "GetObject")],
            Resource=[Sub(f"{_ARN}:s3:::${{{ARTIFACT_BUCKET_NAME}}}/{ARTIFACT_PREFIX}/*", **{ARTIFACT_BUCKET_NAME: Ref(bucket)})],
        )
    ]
    for service, names in sorted(by_service.items()):
        statements.append(
            Statement(
                Sid="NoResourceLevelPermissions" if service == "*" else "".join(p.capitalize() for p in service.split("-")),
                Effect=Allow,
                Action=[Action(*a.split(":", 1)) for a in names],
                Resource=["*"] if service == "*" else _resources(cfg, service),
            )
        )
    return Policy(Version="2012-10-17", Statement=statements)


def _resources(cfg: Config, service: str) -> list:
    """The resources one service's actions are limited to."""
    account = f"{_ARN}:{service}:${{AWS::Region}}:${{AWS::AccountId}}"
    special = {
        "iam": [f"{_ARN}:iam::${{AWS::AccountId}}:role/{_SC_STACK}", f"{_ARN}:iam::${{AWS::AccountId}}:role/aws-service-role/*"],
        "s3": [f"{_ARN}:s3:::{_SC_BUCKET}"],
        "route53": [f"{_ARN}:route53:::hostedzone/{cfg.dns.hosted_zone_id}"],
        "budgets": [f"{_ARN}:budgets::${{AWS::AccountId}}:budget/*"],
        "cloudformation": [f"{account}:stack/{_SC_STACK}"],
    }
    return [Sub(r) for r in special.get(service, [f"{account}:*"])]
