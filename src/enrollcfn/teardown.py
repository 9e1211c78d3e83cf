"""`enrollcfn destroy`: delete an environment's stacks (the root with its nested stacks, the
delivery stack if the config has one, then the bootstrap stack) and list what stays on purpose, each with the command that removes it.

Before anything is deleted, the real stacks are read: both must be this tool's, the root's
termination protection must be off (or allowed off), and deletion protection must be off in the
config and in the deployed templates (RDS refuses DeleteDBInstance and ELB refuses
DeleteLoadBalancer while it is on, so CloudFormation would stop half way, DELETE_FAILED). What
stays is every resource whose DeletionPolicy in the compiled templates keeps it (Retain, or
Snapshot: a final DB snapshot), named by the physical id its real stack reported before the
deletion. A deployed DeletionPolicy that differs from the compiled one is refused too, so the
list is what the deletion really leaves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from enrollcfn import changesets as cs
from enrollcfn.changes import DB_INSTANCE, KEEPING, deletion_policy
from enrollcfn.compiler import Build
from enrollcfn.changesets import DeployError
from enrollcfn.errors import EnrollcfnError, Problems
from enrollcfn.pipeline import Run, follow
from enrollcfn.stacks import bootstrap_stack_name, catalog_stack_name, delivery_stack_name, describe, stack_resources
from enrollcfn.templates import DELIVERY, NESTED, ROOT, STANDALONE
from enrollcfn.templates._custom_resources import LogRetention

BOOTSTRAP = STANDALONE[0].name

LOG_RETENTION = LogRetention.resource_type


def _lb_attribute(props: Mapping) -> object:
    return {a.get("Key"): a.get("Value") for a in props.get("LoadBalancerAttributes", [])}.get("deletion_protection.enabled")


@dataclass(frozen=True)
class Protection:
    """A config key whose `true` makes the deletion of one resource type fail."""

    key: str
    stack: str  # the compiled stack that holds the resource
    type: str
    read: Callable[[Mapping], object]  # the value in the resource's Properties


PROTECTIONS = (
    Protection("database.deletion_protection", "database", DB_INSTANCE, lambda p: p.get("DeletionProtection")),
    Protection("load_balancer.deletion_protection", "load_balancer", "AWS::ElasticLoadBalancingV2::LoadBalancer", _lb_attribute),
)


@dataclass(frozen=True)
class Deployed:
    """One real stack, read before the deletion."""

    path: str  # for messages: `se-dev`, `se-dev/DatabaseStack`, `se-dev-bootstrap`
    compiled: str  # the compiled stack it was deployed from
    physical: Mapping[str, str]  # logical id -> physical id
    template: Mapping  # the template it was last deployed with


@dataclass(frozen=True)
class Kept:
    """A resource the deletion leaves, and how to remove it."""

    what: str
    commands: tuple[str, ...]  # run in order


@dataclass(frozen=True)
class Teardown:
    """What `destroy` did: the stacks it deleted (with their nested stacks) and what stays."""

    deleted: list[str]
    kept: list[Kept]

    def to_dict(self) -> dict:
        return {"deleted": self.deleted, "kept": [{"what": k.what, "commands": list(k.commands)} for k in self.kept]}


def destroy(r: Run, build: Build, deploy_command: str, disable_termination_protection: bool,
            confirm: Callable[[], None] = lambda: None) -> Teardown:
    """Check, `confirm` (raises to stop), delete the root, the delivery stack when the build has
    one, and then the bootstrap stack (following each), and return what stays."""
    boot = bootstrap_stack_name(r.opts.stack)
    delivery = ((delivery_stack_name(r.opts.stack), DELIVERY),) if DELIVERY in build.stacks else ()
    wanted = ((r.opts.stack, ROOT), *delivery, (boot, BOOTSTRAP))
    present = [(n, s, c) for n, c in wanted if (s := describe(r.cfn, n, r.sleep)) is not None]
    if not present:
        raise DeployError(r.opts.stack, f"does not exist (nor {boot}); nothing to destroy")
    for name, stack, _ in present:
        if not cs.owned(stack, name):
            raise DeployError(name, f"was not created by enrollcfn (no {cs.OWNER_TAG} tag); refusing to delete it")
        if stack.get("EnableTerminationProtection") and not disable_termination_protection:
            raise DeployError(name, "has termination protection on; pass --disable-termination-protection to turn it off and delete")
    deployed = [d for name, stack, compiled in present for d in survey(r.cfn, name, stack["StackId"], compiled, build)]
    refuse(deployed, build, deploy_command)
    kept, databases = retained(deployed, build)
    confirm()
    rds = r.clients.rds
    before = {db: _manual_snapshots(rds, db) for db in databases} if rds is not None else {}
    for name, _, _ in present:
        follow(r, name, lambda name=name: cs.delete(r.cfn, name, disable_termination_protection), cancel_on_timeout=False)
    kept += [_snapshot(db, sorted(_manual_snapshots(rds, db) - before[db]) if rds is not None else None) for db in databases]
    catalog = describe(r.cfn, catalog_stack_name(r.opts.stack), r.sleep)
    if catalog is not None:
        kept.append(Kept(f"stack {catalog['StackName']} (the Service Catalog launch role `publish` made; terminate the product's "
                         "provisioned products first)", (f"aws cloudformation delete-stack --stack-name {catalog['StackName']}",)))
    return Teardown([name for name, _, _ in present], kept)


def survey(cfn, name: str, stack_id: str, compiled: str, build: Build) -> list[Deployed]:
    """The stack deployed from compiled stack `compiled` and (for the root) its nested stacks:
    their resources and deployed templates."""
    stacks = [(name, stack_id, compiled)]
    if compiled == ROOT:
        nested = cs.nested_children(cfn, stack_id, build[ROOT].doc, [s.name for s in NESTED])
        stacks += [(f"{name}/{logical}", physical, child) for logical, physical, child in nested]
    return [Deployed(path, child, _resources(cfn, physical), cs.deployed_template(cfn, physical)) for path, physical, child in stacks]


def _resources(cfn, stack_id: str) -> dict[str, str]:
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in stack_resources(cfn, stack_id)}


def refuse(deployed: list[Deployed], build: Build, deploy_command: str) -> None:
    """Problems (one line each) for deletion protection that is on and for a deployed DeletionPolicy
    that differs from the compiled one; nothing is deleted when there are any."""
    problems = []
    apply = f"apply it with `{deploy_command}`, then destroy"
    for p in PROTECTIONS:
        live = [d.path for d in deployed if d.compiled == p.stack and _protected(p, d.template)]
        if _protected(p, build[p.stack].doc):
            problems.append(EnrollcfnError(p.key, f"is on, so the deletion would fail half way; set it to false, {apply}"))
        elif live:
            problems.append(EnrollcfnError(p.key, f"is false in the config but still on in {live[0]}; {apply}"))
    for d in deployed:
        new = build[d.compiled].doc.get("Resources", {})
        for logical, res in d.template.get("Resources", {}).items():
            was, now = deletion_policy(res), deletion_policy(new.get(logical, {}))
            if logical in new and was != now:
                problems.append(EnrollcfnError(f"{d.path}/{logical}", f"was deployed with DeletionPolicy {was}, the config says {now}; {apply}"))
    if problems:
        raise Problems("destroy", problems)


def retained(deployed: list[Deployed], build: Build) -> tuple[list[Kept], list[str]]:
    """What the compiled DeletionPolicies keep, with physical ids; and the DB instances whose
    final snapshot is kept (found after the deletion)."""
    kept, databases = [], []
    for d in deployed:
        for logical, res in build[d.compiled].doc.get("Resources", {}).items():
            policy, physical = deletion_policy(res), d.physical.get(logical)
            if policy not in KEEPING or physical is None:
                continue
            if policy == "Snapshot" and res["Type"] == DB_INSTANCE:
                databases.append(physical)
                continue
            label, commands, note = _removal(res["Type"], physical, res.get("Properties", {}))
            kept.append(Kept(f"{label} {physical} ({d.path}/{logical}, DeletionPolicy {policy}){note}", commands))
        kept += _service_log_groups(d, build)
    return kept, databases


def _service_log_groups(d: Deployed, build: Build) -> list[Kept]:
    """The groups a Custom::LogRetention gave a retention: a service (RDS) created them, so the
    stack does not own them, and the resource's Delete leaves them to expire (lambda/log_retention)."""
    kept = []
    for logical, res in _of_type(build[d.compiled].doc, LOG_RETENTION).items():
        for name in res.get("Properties", {}).get("LogGroupNames", []):
            group = _substituted(name, d.physical)
            if group is not None:
                kept.append(Kept(f"log group {group} (created by the service; {d.path}/{logical} set its retention, its Delete leaves it)",
                                 (f"aws logs delete-log-group --log-group-name {group}",)))
    return kept


def _substituted(value: object, physical: Mapping[str, str]) -> str | None:
    """A template string or `Fn::Sub` of the stack's resource ids, with their physical ids; None
    when it names anything else."""
    text = value.get("Fn::Sub") if isinstance(value, Mapping) else value
    if not isinstance(text, str):
        return None
    names = re.findall(r"\$\{([^}]+)\}", text)
    if any(n not in physical for n in names):
        return None
    return re.sub(r"\$\{([^}]+)\}", lambda m: physical[m[1]], text)


def _removal(kind: str, physical: str, props: Mapping) -> tuple[str, tuple[str, ...], str]:
    """What the kept resource is, the AWS CLI commands that remove it, and a note on running them."""
    if kind == "AWS::S3::Bucket":
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            # `s3 rb --force` deletes only current objects ("versioned objects will not be deleted",
            # AWS CLI s3 rb); delete-objects removes old versions and delete markers by VersionId,
            # at most 1000 a call, so the first command is repeated until the bucket is empty.
            query = "{Objects: [Versions, DeleteMarkers][].{Key: Key, VersionId: VersionId}}"
            versions = f"aws s3api list-object-versions --bucket {physical} --max-items 1000 --query '{query}' --output json"
            return ("versioned S3 bucket", (f"aws s3api delete-objects --bucket {physical} --delete \"$({versions})\"", f"aws s3 rb s3://{physical}"),
                    "; repeat the first command until it lists no versions")
        return "S3 bucket", (f"aws s3 rb s3://{physical} --force",), ""
    commands = {
        "AWS::ECR::Repository": ("ECR repository (with its images)", f"aws ecr delete-repository --repository-name {physical} --force"),
        "AWS::SecretsManager::Secret": ("secret", f"aws secretsmanager delete-secret --secret-id {physical} --force-delete-without-recovery"),
        "AWS::Logs::LogGroup": ("log group", f"aws logs delete-log-group --log-group-name {physical}"),
        # one per account and URL: other environments may name it in delivery.provider_arn
        "AWS::IAM::OIDCProvider": ("GitHub OIDC provider (check no other environment names it in delivery.provider_arn)",
                                   f"aws iam delete-open-id-connect-provider --open-id-connect-provider-arn {physical}"),
        DB_INSTANCE: ("DB instance", f"aws rds delete-db-instance --db-instance-identifier {physical} --skip-final-snapshot"),
    }
    if kind not in commands:
        return kind, (), "; delete it with its service's console or CLI"
    label, command = commands[kind]
    return label, (command,), ""


def _snapshot(db: str, new: list[str] | None) -> Kept:
    """The final snapshot(s) CloudFormation took of `db`, or how to find them."""
    if new:
        return Kept(f"final DB snapshot {', '.join(new)} (of {db}, DeletionPolicy Snapshot; billed until deleted)",
                    tuple(f"aws rds delete-db-snapshot --db-snapshot-identifier {s}" for s in new))
    return Kept(f"final DB snapshot of {db} (DeletionPolicy Snapshot; not found after the deletion: find its id with the first command)",
                (f"aws rds describe-db-snapshots --db-instance-identifier {db} --snapshot-type manual", "aws rds delete-db-snapshot --db-snapshot-identifier ID"))


def _manual_snapshots(rds, db: str) -> set[str]:
    """Manual snapshot ids of instance `db` (a final snapshot is a manual one)."""
    found = set()
    for page in rds.get_paginator("describe_db_snapshots").paginate(DBInstanceIdentifier=db, SnapshotType="manual"):
        found.update(s["DBSnapshotIdentifier"] for s in page["DBSnapshots"])
    return found


def _protected(p: Protection, doc: Mapping) -> bool:
    return any(_on(p.read(res.get("Properties", {}))) for res in _of_type(doc, p.type).values())


def _of_type(doc: Mapping, kind: str) -> dict[str, Mapping]:
    return {k: v for k, v in doc.get("Resources", {}).items() if v.get("Type") == kind}


def _on(value: object) -> bool:
    """A template boolean, as YAML or the API writes it (True, "true")."""
    return str(value).lower() == "true"


def render(done: Teardown) -> list[str]:
    """The closing lines: what was deleted and what was kept, each with its command."""
    lines = [f"{name}: deleted" for name in done.deleted]
    if not done.kept:
        return lines + ["kept: nothing"]
    lines.append(f"kept on purpose ({len(done.kept)}); remove each when it is no longer wanted:")
    for k in done.kept:
        lines += [f"  {k.what}", *(f"    {c}" for c in k.commands)]
    return lines
