"""Catalog stack, deployed on its own as `<stack>-catalog`: the Service Catalog launch role.

Service Catalog assumes this role to create, update and delete the product (the root stack and
its children) for end users who have no rights of their own. Its actions are those of the resource
types in the compiled product templates (_launch_actions.py), each limited to this product's
resources (_launch_scopes.py). It cannot escalate: it may create and change only roles under this
product's path that carry the bootstrap stack's permissions boundary, attach only the managed
policies the templates attach, and pass roles only to the services the templates hand them to.

The role has a fixed name derived from project and environment (config.names.launch_role), because the
launch constraint names it by LocalRoleName: in every account the portfolio is shared with,
Service Catalog uses the role of that name there, so each consumer account deploys this same
template.

Inputs: the product's resource types (from the compiler) and the Parameter ArtifactBucketName
(the bootstrap stack's output of that name). Outputs: LaunchRoleArn.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.iam import ManagedPolicy, Role

from enrollcfn.config import Config
from enrollcfn.config.names import launch_role
from enrollcfn.errors import CompileError
from enrollcfn.templates._helpers import output, param
from enrollcfn.templates import _control_tower
from enrollcfn.templates._launch_actions import PASSED_TO, RESOURCE_ACTIONS, SERVICE_LINKED
from enrollcfn.templates._launch_scopes import Scope, service_scopes
from enrollcfn.templates.bootstrap import ARTIFACT_BUCKET_NAME, boundary_arn, boundary_policy_arn, role_path
from enrollcfn.templates.database import ENHANCED_MONITORING_POLICY

LAUNCH_ROLE_ARN = "LaunchRoleArn"
# Key prefix of the packaged templates in the artifact bucket; the role may read only below it.
ARTIFACT_PREFIX = "templates"
# Key prefix `enrollcfn plan` uploads to: previews only. No deploy, publish or launch reads below
# it, so what may write here (the pull requests' plan role) cannot reach what runs.
PLAN_PREFIX = "plans"
_ARN = "arn:${AWS::Partition}"
# IAM quotas (docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): a managed
# policy holds 6,144 characters without whitespace, a role carries 10 managed policies by
# default; inline policies share 10,240 characters per role, too few for this role.
MANAGED_POLICY_CHARS = 6_144
MANAGED_POLICIES_PER_ROLE = 10

# IAM actions on the product's roles, by what must hold for them (see _iam_statements).
_BOUNDED = ("CreateRole", "PutRolePolicy", "DeleteRolePolicy", "PutRolePermissionsBoundary")
_ATTACH = ("AttachRolePolicy", "DetachRolePolicy")
_ROLE = ("DeleteRole", "GetRole", "UpdateRole", "UpdateRoleDescription", "UpdateAssumeRolePolicy", "GetRolePolicy",
         "ListRolePolicies", "ListAttachedRolePolicies", "TagRole", "UntagRole")  # fmt: skip


def launch_actions(resource_types: Iterable[str]) -> list[str]:
    """The IAM actions needed to provision stacks made of `resource_types`, sorted.

    Raises CompileError naming a resource type that has no entry in the action table."""
    actions = set(RESOURCE_ACTIONS["AWS::CloudFormation::Stack"])
    for rtype in sorted(set(resource_types)):
        if rtype not in RESOURCE_ACTIONS:
            raise CompileError(
                "catalog",
                f"resource type {rtype} has no entry in templates/_launch_actions.py; add the IAM actions that create, update and delete it",
            )
        actions.update(RESOURCE_ACTIONS[rtype])
    return sorted(actions)


def build(cfg: Config, resource_types: Iterable[str]) -> Template:
    """The catalog template: a launch role for a product made of `resource_types`."""
    types = set(resource_types) | {"AWS::CloudFormation::Stack"}
    t = Template(Description=f"{cfg.project} {cfg.environment}: Service Catalog launch role (deployed before publishing)")
    t.set_version()
    bucket = param(t, ARTIFACT_BUCKET_NAME, "String", "Artifact bucket of the bootstrap stack (its ArtifactBucketName output)")
    actions = sorted({*launch_actions(types), *_control_tower.launch_actions(cfg)})
    statements = [*_artifact_statements(bucket), *_iam_statements(cfg, types, actions), *_service_statements(cfg, actions), *_denies(cfg, actions)]
    role = t.add_resource(
        Role(
            "LaunchRole",
            # Named, at the default path: the launch constraint's LocalRoleName is a bare name that
            # Service Catalog looks up in each account (constraints-launch.html).
            RoleName=launch_role(cfg.project, cfg.environment),
            # No aws:SourceAccount: Service Catalog documents this trust without a condition
            # (docs.aws.amazon.com/servicecatalog/latest/adminguide/constraints-launch.html) and
            # publishes no confused-deputy keys for launch roles; a key it does not send would
            # refuse every launch. What pins the role to this account instead: a launch
            # constraint can name it only if its creator may iam:PassRole it, in this account.
            AssumeRolePolicyDocument={
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "servicecatalog.amazonaws.com"}, "Action": ["sts:AssumeRole"]}],
            },
            ManagedPolicyArns=[Ref(p) for p in _managed_policies(t, cfg, statements)],
        )
    )
    output(t, LAUNCH_ROLE_ARN, GetAtt(role, "Arn"), "Role Service Catalog assumes to provision the product")
    return t


def _managed_policies(t: Template, cfg: Config, statements: list[dict]) -> list[ManagedPolicy]:
    """The statements in as few customer managed policies as fit IAM's size quota, in order.

    Sizes are measured on the template form, whose `${AWS::AccountId}` and `${AWS::Partition}`
    are longer than what they become, so a chunk that fits here fits in IAM."""
    chunks: list[list[dict]] = [[]]
    for statement in statements:
        if _size(chunks[-1] + [statement]) > MANAGED_POLICY_CHARS:
            chunks.append([])
        chunks[-1].append(statement)
    if len(chunks) > MANAGED_POLICIES_PER_ROLE:
        raise CompileError("catalog", f"the launch role needs {len(chunks)} managed policies; IAM attaches at most {MANAGED_POLICIES_PER_ROLE}")
    return [
        t.add_resource(ManagedPolicy(f"LaunchPolicy{i}", Description=f"{cfg.project} {cfg.environment}: provision the product, part {i}",
                                     PolicyDocument={"Version": "2012-10-17", "Statement": chunk}))
        for i, chunk in enumerate(chunks, 1)
    ]  # fmt: skip


def _size(statements: list[dict]) -> int:
    doc = {"Version": "2012-10-17", "Statement": statements}
    return len(json.dumps(doc, separators=(",", ":"), default=lambda o: o.to_dict()))


def _statement(sid: str, actions: Iterable[str], resources: Iterable, condition: dict | None = None, effect: str = "Allow") -> dict:
    s = {"Sid": sid, "Effect": effect, "Action": sorted(actions), "Resource": [r if r == "*" else Sub(r) for r in resources]}
    return {**s, "Condition": condition} if condition else s


def _artifact_statements(bucket) -> list[dict]:
    """Reading the templates: the packaged children by object version from the artifact bucket,
    and the copy of the root template Service Catalog keeps in a bucket of its own."""
    templates = Sub(f"{_ARN}:s3:::${{{ARTIFACT_BUCKET_NAME}}}/{ARTIFACT_PREFIX}/*", **{ARTIFACT_BUCKET_NAME: Ref(bucket)})
    return [
        # GetObjectVersion for URLs pinned with ?versionId=, GetObject for any not yet pinned.
        {"Sid": "ReadPackagedTemplates", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": [templates]},
        # AWS's launch-role policy for this (constraints-launch.html, getstarted-launchconstraint
        # .html): the service-owned bucket's name is not published, its objects carry this tag.
        {"Sid": "ReadServiceCatalogCopies", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"],
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}}},
    ]  # fmt: skip


def _iam_statements(cfg: Config, types: set[str], actions: list[str]) -> list[dict]:
    """Roles: only under this product's path, only with the boundary, only the managed policies
    the templates attach, passed only to the services the templates hand them to."""
    verbs = {a.split(":", 1)[1] for a in actions if a.startswith("iam:")}
    known = {*_BOUNDED, *_ATTACH, *_ROLE, "PassRole", "CreateServiceLinkedRole", "ListRoles"}
    if verbs - known:
        raise CompileError("catalog", f"IAM actions {sorted(verbs - known)} have no scope in templates/catalog.py; decide how to bound them")
    roles = [f"{_ARN}:iam::${{AWS::AccountId}}:role{role_path(cfg)}*"]
    bounded = {"StringEquals": {"iam:PermissionsBoundary": boundary_arn(cfg)}}
    out = [_statement("BoundedProductRoles", [f"iam:{v}" for v in _BOUNDED if v in verbs], roles, bounded)]
    managed = [ENHANCED_MONITORING_POLICY] if "AWS::RDS::DBInstance" in types else []
    if managed and verbs & set(_ATTACH):
        # Attach and detach only the managed policies the templates name, and only on bounded roles.
        attach = {**bounded, "ArnEquals": {"iam:PolicyARN": [Sub(p) for p in managed]}}
        out.append(_statement("AttachTheTemplatesPolicies", [f"iam:{v}" for v in _ATTACH if v in verbs], roles, attach))
    out.append(_statement("ProductRoles", [f"iam:{v}" for v in _ROLE if v in verbs], roles))
    passed = sorted({PASSED_TO[t] for t in types if t in PASSED_TO})
    if passed and "PassRole" in verbs:
        out.append(_statement("PassProductRoles", ["iam:PassRole"], roles, {"StringEquals": {"iam:PassedToService": passed}}))
    linked = sorted({SERVICE_LINKED[t] for t in types if t in SERVICE_LINKED})
    if linked and "CreateServiceLinkedRole" in verbs:
        slr = [f"{_ARN}:iam::${{AWS::AccountId}}:role/aws-service-role/*"]
        out.append(_statement("ServiceLinkedRoles", ["iam:CreateServiceLinkedRole"], slr, {"StringEquals": {"iam:AWSServiceName": linked}}))
    if "ListRoles" in verbs:
        out.append(_statement("ListRolesNoResourceLevel", ["iam:ListRoles"], ["*"]))  # ListRoles has no resource type
    return out


def _service_statements(cfg: Config, actions: list[str]) -> list[dict]:
    """One statement per scope of each service; an action no scope takes is a compile error."""
    by_service: dict[str, list[str]] = {}
    for action in actions:
        service, verb = action.split(":", 1)
        if service != "iam":
            by_service.setdefault(service, []).append(verb)
    out = []
    for service, verbs in sorted(by_service.items()):
        scopes = service_scopes(cfg, service)
        if scopes is None:
            raise CompileError("catalog", f"service {service} has no scope in templates/_launch_scopes.py; limit it to this product's resources")
        taken: dict[str, list[str]] = {}
        for verb in verbs:
            for scope in _scopes_of(scopes, verb, service):
                taken.setdefault(scope.sid, []).append(f"{service}:{verb}")
        out += [_statement(s.sid, taken[s.sid], s.resources, s.condition) for s in scopes if s.sid in taken]
    return out


def _scopes_of(scopes: list[Scope], verb: str, service: str) -> list[Scope]:
    """The first scope that takes `verb`, preceded by every sharing scope that takes it."""
    chosen = []
    for scope in scopes:
        if scope.takes(verb):
            chosen.append(scope)
            if not scope.share:
                return chosen
    if not chosen:
        raise CompileError("catalog", f"{service}:{verb} matches no scope in templates/_launch_scopes.py")
    return chosen


def _denies(cfg: Config, actions: list[str]) -> list[dict]:
    """Explicit denies, so no other policy attached to the role later can reopen these."""
    boundary = boundary_arn(cfg)
    out = [
        _statement("DenyRolesOutsideTheBoundary", ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"],
                   ["*"], {"StringNotEquals": {"iam:PermissionsBoundary": boundary}}, effect="Deny"),
        _statement("DenyLeavingTheBoundary", ["iam:DeleteRolePermissionsBoundary"], ["*"], effect="Deny"),
        _statement("DenyRewritingTheBoundary", ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                   "iam:SetDefaultPolicyVersion"], [boundary_policy_arn(cfg)], effect="Deny"),
    ]  # fmt: skip
    if any(a.startswith("secretsmanager:") for a in actions):
        # RDS owns the instance's master secret; the role only lets RDS create and tag it.
        rds_secret = f"{_ARN}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:rds!*"
        verbs = ("GetSecretValue", "PutSecretValue", "UpdateSecret", "DeleteSecret", "UntagResource", "PutResourcePolicy")
        out.append(_statement("DenyUsingRdsManagedSecrets", [f"secretsmanager:{v}" for v in verbs], [rds_secret], effect="Deny"))
    return out
