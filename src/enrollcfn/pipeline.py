"""The plan and deploy pipelines over compiled templates and a set of AWS clients.

deploy: bootstrap stack (if changed) -> upload templates under content-hash keys -> read-only
preflight (image in ECR, hosted zone) -> one change set on the root with nested stacks ->
preview -> data-loss guard -> confirmation -> execute -> follow events -> stack policies and
termination protection. `plan` stops after the preview and deletes what it created.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from botocore.exceptions import ClientError
from cfn_flip import load_yaml

from enrollcfn import deploy as cs
from enrollcfn import progress
from enrollcfn.changes import StackPlan, render
from enrollcfn.config import Config
from enrollcfn.deploy import DeployError, Target
from enrollcfn.package import package_templates
from enrollcfn.stacks import bootstrap_stack_name, output_map
from templates import ROOT
from templates.catalog import ARTIFACT_PREFIX as TEMPLATE_PREFIX  # the launch role may read only here


@dataclass(frozen=True)
class Clients:
    """The AWS clients the pipeline uses (created by the command line, or stubbed in tests)."""

    cfn: object
    s3: object = None
    ecr: object = None
    route53: object = None
    ecs: object = None


@dataclass(frozen=True)
class Options:
    """What the person asked for."""

    stack: str
    execute: bool = True  # False: plan only
    yes: bool = False
    allow_data_loss: bool = False
    recreate_failed: bool = False
    timeout_minutes: float = 60.0
    as_json: bool = False


@dataclass
class Console:
    """Where the pipeline talks to the person: progress lines, previews, the confirmation."""

    report: Callable[[str], None]
    confirm: Callable[[str], bool] = lambda question: False
    previews: list[dict] = field(default_factory=list)  # JSON form of every plan, for --json

    def preview(self, plan: StackPlan, title: str, as_json: bool) -> None:
        if as_json:
            self.previews.append({"title": title, **plan.to_json()})
        else:
            self.report(render(plan, title))


@dataclass
class Result:
    """What happened: which stacks had changes, what was uploaded, the root's outputs."""

    changed: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    pending: bool = False  # plan: changes (or an absent stack) waiting to be deployed


def run(clients: Clients, cfg: Config, templates: dict[str, str], opts: Options, console: Console,
        sleep=time.sleep, clock=time.monotonic) -> Result:
    """Plan or deploy the bootstrap stack and then the root stack with its nested stacks."""
    result = Result()
    tags = stack_tags(cfg, opts.stack)
    boot_name = bootstrap_stack_name(opts.stack)
    boot_stack = standalone(clients.cfn, boot_name, templates["bootstrap"], {}, stack_tags(cfg, boot_name),
                            opts, console, result, sleep, clock)
    if boot_stack is None:
        console.report(f"{opts.stack}: planned after {boot_name} exists (its bucket holds the templates)")
        result.pending = True
        return result
    boot_outputs = output_map(boot_stack)

    package = package_templates(clients.s3, boot_outputs["ArtifactBucketName"], TEMPLATE_PREFIX, cfg.region, templates)
    result.uploaded = package.uploaded
    console.report(f"templates: {len(package.uploaded)} uploaded, {len(package.artifacts) - len(package.uploaded)} unchanged "
                   f"(s3://{boot_outputs['ArtifactBucketName']}/{TEMPLATE_PREFIX}/)")
    problems = preflight(clients, cfg, boot_outputs.get("RepositoryUri", ""))
    if problems and opts.execute:
        raise problems[0]
    for problem in problems:
        console.report(f"warning: {problem.key}: {problem.message}")

    root_body = package.root.body.decode("utf-8")
    params = {k: str(v["Default"]) for k, v in load_yaml(templates[ROOT]).get("Parameters", {}).items()}
    root = Target(opts.stack, template_url=package.root.url, parameters=params,
                  capabilities=cs.capabilities(list(templates.values())))
    def second_opinion(stack_id: str) -> list:
        return cs.deployed_losses(clients.cfn, stack_id, opts.stack, templates, cfg.region)

    if apply(clients.cfn, root, root_body, tags, opts, console, sleep, clock, probe=_probe(clients, cfg),
             template_check=second_opinion):
        result.changed.append(opts.stack)
    stack = cs.describe(clients.cfn, opts.stack, sleep)
    if opts.execute and stack is not None:
        if opts.stack in result.changed or not stack.get("EnableTerminationProtection"):
            protected = cs.protect(clients.cfn, stack["StackId"])
            console.report(f"{opts.stack}: stack policy on {len(protected)} stacks (no replacing or deleting the "
                           "database), termination protection on")
        result.outputs = output_map(stack)
    result.pending = not opts.execute and bool(result.changed)
    return result


def stack_tags(cfg: Config, stack: str) -> dict[str, str]:
    """The tags of every stack this tool creates: ownership (what recreate and destroy check) and project."""
    return {cs.OWNER_TAG: stack, "project": cfg.project, "environment": cfg.environment}


def standalone(cfn, name: str, body: str, parameters: dict[str, str], tags: dict[str, str], opts: Options,
               console: Console, result: Result | None = None, sleep=time.sleep, clock=time.monotonic) -> dict | None:
    """Plan or deploy a stack sent as TemplateBody (bootstrap, catalog); its description afterwards,
    None when it does not exist yet (a plan of its creation)."""
    target = Target(name, template_body=body, parameters=parameters, capabilities=cs.capabilities([body]))
    if apply(cfn, target, body, tags, opts, console, sleep, clock) and result is not None:
        result.changed.append(name)
    stack = cs.describe(cfn, name, sleep)
    return None if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS" else stack


def apply(cfn, target: Target, body: str, tags: dict[str, str], opts: Options, console: Console,
          sleep, clock, probe=None, template_check=None) -> bool:
    """Plan, and unless planning only, deploy one stack. True when it had changes."""
    name = target.name
    stack = cs.settle(cfn, name, sleep, clock, opts.timeout_minutes * 60, console.report)
    kind = cs.decide(stack, name, opts.recreate_failed)
    if kind == "UPDATE" and cs.unchanged(cfn, stack, target, body, tags):
        console.report(f"{name}: no changes")
        return False
    if kind == "RECREATE":
        if not opts.execute:
            console.report(f"{name}: is {stack['StackStatus']}; deploy --recreate-failed deletes and creates it again")
            return True
        _recreate(cfn, stack, name, opts, console, sleep, clock)
    kind = "UPDATE" if kind == "UPDATE" else "CREATE"
    fresh = stack is None or kind == "CREATE"
    change_set = cs.create_change_set(cfn, target, kind, tags)
    desc = cs.wait_change_set(cfn, change_set, sleep, clock)
    if cs.is_empty(desc):
        _discard(cfn, change_set, name, fresh)
        console.report(f"{name}: no changes")
        return False
    plan = cs.plan_of(cfn, desc, sleep, path=name)
    if desc["Status"] == "FAILED":
        reasons = cs.failure_reasons(plan) or [desc.get("StatusReason", "no reason given")]
        raise DeployError(name, "change set failed: " + " | ".join(reasons) + f" (kept for inspection: {change_set})")
    if plan.empty:
        _discard(cfn, change_set, name, fresh)
        console.report(f"{name}: no changes")
        return False
    if template_check is not None and stack is not None and kind == "UPDATE":
        flagged = {(p, c.logical_id) for p, c in plan.data_loss()}
        plan.flag([(p, c) for p, c in template_check(stack["StackId"]) if (p, c.logical_id) not in flagged])
    console.preview(plan, f"{name}: {'create' if fresh else 'update'}", opts.as_json)
    losses = plan.data_loss()
    if not opts.execute:
        _discard(cfn, change_set, name, fresh)
        return True
    if losses and not opts.allow_data_loss:
        _discard(cfn, change_set, name, fresh)
        what = "; ".join(f"{path}/{c.logical_id} ({c.type}) {_loss(c)}" for path, c in losses)
        raise DeployError(name, f"refusing to lose data: {what}. Nothing was changed; re-run with --allow-data-loss "
                          "only if you have a backup and mean it")
    if not opts.yes and not console.confirm(f"Deploy these changes to {name}?"):
        _discard(cfn, change_set, name, fresh)
        raise DeployError(name, "not confirmed; nothing was changed (pass --yes to skip the question)")
    opened = [stack["StackId"], *cs.nested_stack_ids(cfn, stack["StackId"])] if losses and stack is not None else []
    cs.set_policies(cfn, opened, cs.OPEN_POLICY)  # the stack policy would deny what was just allowed
    try:
        follow(cfn, name, lambda: cs.execute(cfn, change_set), console.report, opts.timeout_minutes,
               cancel_on_timeout=not fresh, sleep=sleep, clock=clock, probe=probe)
    finally:
        cs.set_policies(cfn, opened, cs.STACK_POLICY)
    return True


def _loss(change) -> str:
    if change.action == "Remove":
        return "removed"
    return f"replaced (by {', '.join(change.properties)})" if change.properties else "replaced"


def follow(cfn, name: str, start: Callable[[], object], report: Callable[[str], None], timeout_minutes: float,
           cancel_on_timeout: bool, sleep=time.sleep, clock=time.monotonic, probe=None) -> dict:
    """Start a stack operation and report its events (root and nested) until it settles."""
    since = datetime.now(timezone.utc)
    start()
    current = cs.describe(cfn, name, sleep)
    if current is None:  # already gone (a delete that finished at once)
        return {}
    watcher = progress.Watch(cfn, current["StackId"], since, report, sleep, probe(since) if probe else None)
    return progress.watch(cfn, watcher, name, clock, clock() + timeout_minutes * 60, cancel_on_timeout)


def _recreate(cfn, stack, name, opts, console, sleep, clock) -> None:
    console.report(f"{name}: {stack['StackStatus']}, deleting it before creating it again (--recreate-failed)")
    follow(cfn, name, lambda: cs.delete(cfn, name, allow_protected=False), console.report, opts.timeout_minutes,
           False, sleep, clock)


def _discard(cfn, change_set: str, name: str, fresh: bool) -> None:
    """Delete a change set that will not run, and the empty REVIEW_IN_PROGRESS stack a CREATE left."""
    cfn.delete_change_set(ChangeSetName=change_set)
    stack = cs.describe(cfn, name) if fresh else None
    if stack is not None and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        cfn.delete_stack(StackName=stack["StackId"])


def preflight(clients: Clients, cfg: Config, repository_uri: str) -> list[DeployError]:
    """Read-only checks that turn hours of a stuck rollout into one clear message."""
    problems = []
    if clients.ecr is not None:
        try:
            clients.ecr.describe_images(repositoryName=cfg.registry.repository_name,
                                        imageIds=[{"imageTag": cfg.service.image_tag}])
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("ImageNotFoundException", "RepositoryNotFoundException"):
                raise
            problems.append(DeployError("service.image_tag", _push_hint(cfg, repository_uri)))
    if clients.route53 is not None:
        try:
            zone = clients.route53.get_hosted_zone(Id=cfg.dns.hosted_zone_id)["HostedZone"]
            if zone["Name"].rstrip(".") != cfg.dns.zone_name:
                problems.append(DeployError("dns.hosted_zone_id", f"{cfg.dns.hosted_zone_id} is {zone['Name']}, "
                                            f"not {cfg.dns.zone_name}"))
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("NoSuchHostedZone", "InvalidInput"):
                raise
            problems.append(DeployError("dns.hosted_zone_id", f"no hosted zone {cfg.dns.hosted_zone_id}; set the id of "
                                        f"{cfg.dns.zone_name} (aws route53 list-hosted-zones-by-name --dns-name "
                                        f"{cfg.dns.zone_name})"))
    return problems


def _push_hint(cfg: Config, uri: str) -> str:
    registry = uri.split("/", 1)[0] or "ACCOUNT.dkr.ecr.REGION.amazonaws.com"
    tag = cfg.service.image_tag
    return (f"image {cfg.registry.repository_name}:{tag} is not in ECR, so the service would never start. Push it:\n"
            f"  aws ecr get-login-password --region {cfg.region} | docker login --username AWS --password-stdin {registry}\n"
            f"  docker build -t {cfg.registry.repository_name}:{tag} .\n"
            f"  docker tag {cfg.registry.repository_name}:{tag} {uri}:{tag}\n"
            f"  docker push {uri}:{tag}")


def _probe(clients: Clients, cfg: Config):
    if clients.ecs is None:
        return None
    return lambda since: progress.service_probe(clients.ecs, cfg.cluster.name, cfg.service.name, since)


def to_json(console: Console, result: Result) -> str:
    """The --json document: previews, changed stacks, uploads, outputs."""
    return json.dumps({"plans": console.previews, "changed": result.changed, "uploaded": result.uploaded,
                       "pending": result.pending, "outputs": result.outputs}, indent=2, sort_keys=True)
