"""The plan, deploy and recover pipelines (destroy: `teardown`) over one `Build` and a set of AWS clients.

deploy: read-only checks that need no image (hosted zone; warnings such as alarms that notify no
one), before any stack is created -> bootstrap stack (if changed; a new one first adopts what an
earlier `destroy` kept, adopt.py) -> delivery stack (if built and changed) -> upload the
product's templates under content-hash keys -> read-only preflight of the image (in ECR, and its
config: architecture, user, volumes) -> one
change set on the root with nested stacks -> preview -> data-loss guard -> confirmation -> execute -> follow events -> stack policies and
termination protection. `plan` stops after the preview and deletes what it created.
`bootstrap` runs the first two steps only and says how to push the first image.

This module orchestrates; the leaves it calls (deploy: change sets and stack state, progress:
following an operation, package: uploads, stacks: reading deployed stacks, changes: rendering)
never call back up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from enrollcfn import adopt
from enrollcfn import changesets as cs
from enrollcfn import progress
from enrollcfn.changes import StackPlan, render
from enrollcfn.compiler import Build, Stack
from enrollcfn.config import Config
from enrollcfn.changesets import Clock, DeployError, Sleep, Target
from enrollcfn.errors import Interrupted, Problems
from enrollcfn.images import digest_to_deploy
from enrollcfn.package import package_templates
from enrollcfn.imageconfig import Fetch, https_get
from enrollcfn.preflight import RELEASE_TAG, image, preflight, provider_taken, push_commands, warnings
from enrollcfn.stacks import bootstrap_stack_name, delivery_stack_name, describe, nested_stacks, output, output_map
from enrollcfn.templates import DELIVERY, ROOT
from enrollcfn.templates.bootstrap import ARTIFACT_BUCKET_NAME, REPOSITORY_URI
from enrollcfn.templates.catalog import ARTIFACT_PREFIX, PLAN_PREFIX  # the launch role may read only below ARTIFACT_PREFIX
from enrollcfn.templates.delivery import CLOUDFORMATION_ROLE_ARN, ROOT_STACK_NAME
from enrollcfn.templates.monitoring import ENVIRONMENT_TAG  # the budget counts the costs carrying it
from enrollcfn.templates.service import IMAGE_DIGEST, IMAGE_TAG


@dataclass(frozen=True)
class Clients:
    """The AWS clients the pipeline uses (created by the command line, or stubbed in tests)."""

    cfn: object
    s3: object = None
    ecr: object = None
    route53: object = None
    ecs: object = None
    iam: object = None
    rds: object = None  # destroy: the final DB snapshot
    fetch: Fetch = https_get  # the image config blob at ECR's download URL (preflight)

    @classmethod
    def of(cls, client) -> "Clients":
        """The clients a pipeline uses, from the command line's `client(service)` factory."""
        return cls(*(client(s) for s in ("cloudformation", "s3", "ecr", "route53", "ecs", "iam", "rds")))


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
    image_tag: str | None = None  # deploy this tag's digest (default: the running one, else service.image_tag's)
    image_digest: str | None = None  # deploy exactly this digest (rollback)
    deploy_command: str = "enrollcfn deploy ..."  # how this environment is deployed, for the messages that say so


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


@dataclass(frozen=True)
class Run:
    """One pipeline run: the clients, what was asked, where to talk, and the clock to wait by."""

    clients: Clients
    opts: Options
    console: Console
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic

    @property
    def cfn(self):
        return self.clients.cfn


@dataclass
class Result:
    """What happened: which stacks had changes, what was uploaded, the root's outputs."""

    changed: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    pending: bool = False  # plan: changes (or an absent stack) waiting to be deployed
    computed: dict = field(default_factory=dict)  # plan: changes and cost computed from the templates

    def to_json(self, console: Console) -> str:
        """The --json document: previews, changed stacks, uploads, outputs."""
        return json.dumps({"plans": console.previews, "changed": self.changed, "uploaded": self.uploaded,
                           "pending": self.pending, "outputs": self.outputs,
                           "computed_from_templates": self.computed}, indent=2, sort_keys=True)


def run(r: Run, cfg: Config, build: Build) -> Result:
    """Plan or deploy the bootstrap stack and then the root stack with its nested stacks."""
    result = Result()
    early_checks(r, cfg, build)
    boot_name = bootstrap_stack_name(r.opts.stack)
    boot_stack = bootstrap_stack(r, cfg, build, result)
    if boot_stack is None:
        r.console.report(f"{r.opts.stack}: planned after {boot_name} exists (its bucket holds the templates)")
        result.pending = True
        return result
    boot_outputs = output_map(boot_stack)
    bucket = output(boot_name, boot_outputs, ARTIFACT_BUCKET_NAME)
    execution_role = _delivery(r, cfg, build, bucket, result)
    # A plan uploads where no deploy or publish reads: whoever may only plan (the pull requests'
    # role) cannot put a template where the next deploy would run it.
    prefix = ARTIFACT_PREFIX if r.opts.execute else PLAN_PREFIX
    package = package_templates(r.clients.s3, bucket, prefix, cfg.region, build.product(), published=None if r.opts.execute else ARTIFACT_PREFIX)
    result.uploaded = package.uploaded
    r.console.report(f"templates: {len(package.uploaded)} uploaded, {len(package.artifacts) - len(package.uploaded)} unchanged "
                     f"(s3://{bucket}/{prefix}/)")
    digest, risks = _preflight(r, cfg, boot_outputs.get(REPOSITORY_URI, ""))
    for problem in risks:
        r.console.report(f"warning: {problem.key}: {problem.message}")
    product = build.product()
    parameters = product[ROOT].contract.defaults()
    if digest:
        parameters[IMAGE_DIGEST] = digest
        parameters[IMAGE_TAG] = _image_tag(r, digest, parameters.get(IMAGE_TAG, cfg.service.image_tag))
    root = Target(r.opts.stack, template_url=package.root.url, parameters=parameters,
                  capabilities=cs.capabilities([s.doc for s in product.values()]), role_arn=execution_role)
    children = {name: s.doc for name, s in product.items()}

    def second_opinion(stack_id: str) -> list:
        return cs.deployed_losses(r.cfn, stack_id, r.opts.stack, product[ROOT].doc, children, cfg.region)

    if apply(r, root, package.root_doc, stack_tags(cfg, r.opts.stack), probe=_probe(r.clients, cfg), template_check=second_opinion):
        result.changed.append(r.opts.stack)
        if not r.opts.execute:
            _computed(r, cfg, build, result)
    _protect(r, cfg, result)
    result.pending = not r.opts.execute and bool(result.changed)
    return result


def first_create(r: Run, cfg: Config) -> Config | None:
    """For a deploy that creates the root stack (it does not exist, or --recreate-failed replaces a
    failed create) while `cfg` protects the database or the load balancer from deletion: `cfg`
    with both protections off, which the create runs with. None otherwise."""
    protects = cfg.database.deletion_protection or cfg.load_balancer.deletion_protection
    stack = describe(r.cfn, r.opts.stack, r.sleep)
    creating = stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS" or (r.opts.recreate_failed and stack["StackStatus"] == "ROLLBACK_COMPLETE")
    if not (protects and creating):
        return None
    return cfg.model_copy(update={"database": cfg.database.model_copy(update={"deletion_protection": False}),
                                  "load_balancer": cfg.load_balancer.model_copy(update={"deletion_protection": False})})


def _image_tag(r: Run, digest: str, default: str) -> str:
    """The tag CloudFormation records beside `digest`: --image-tag; else the deployed one when the
    stack already holds this digest (a push-triggered release's tag, so a deploy after it changes
    nothing); else service.image_tag."""
    if r.opts.image_tag:
        return r.opts.image_tag
    held = {p["ParameterKey"]: p.get("ParameterValue") for p in (describe(r.cfn, r.opts.stack, r.sleep) or {}).get("Parameters", [])}
    return held[IMAGE_TAG] if held.get(IMAGE_DIGEST) == digest and held.get(IMAGE_TAG) else default


def early_checks(r: Run, cfg: Config, build: Build) -> None:
    """The read-only checks that need no image, before any stack is created or changed: the hosted
    zone (preflight), the account's OIDC provider when a delivery stack would create one, and what
    to warn about. Raises Problems (every one at once) when a deploy would fail; a plan reports
    them as warnings instead."""
    unchecked: list = []  # what preflight could not check (the zone's delegation without a resolver)
    problems = preflight(r.clients.route53, cfg, notes=unchecked)
    if DELIVERY in build.stacks and not cfg.delivery.provider_arn and r.clients.iam is not None \
            and describe(r.cfn, delivery_stack_name(r.opts.stack), r.sleep) is None:
        problems += provider_taken(r.clients.iam)  # IAM holds one provider per URL: the new stack would fail on it
    if problems and r.opts.execute:
        raise Problems("preflight", problems)
    for problem in [*problems, *unchecked, *warnings(cfg)]:
        r.console.report(f"warning: {problem.key}: {problem.message}")


def _preflight(r: Run, cfg: Config, repository_uri: str) -> tuple[str | None, list]:
    """The read-only checks of the image before the root's change set: the digest to deploy (None
    when there is none yet) and what to warn about. Raises Problems when a deploy would fail; a
    plan reports them as warnings instead."""
    problems: list = []
    # run the image by digest (ECR.2), never by a tag that could move: --image-tag's, else the one
    # the service runs, else service.image_tag's; a missing one gets the commands that push it
    digest = r.opts.image_digest
    if digest is None and r.clients.ecr is not None:
        try:
            digest = digest_to_deploy(r.clients.ecr, r.clients.ecs, cfg, r.opts.image_tag)
        except DeployError as missing:
            tag = r.opts.image_tag or cfg.service.image_tag
            _push_instructions(r, cfg, repository_uri, tag if tag != cfg.service.image_tag else RELEASE_TAG)
            problems.append(DeployError(missing.key, f"image {cfg.registry.repository_name}:{tag} is not in ECR, so the service would "
                                        "never start; the bootstrap is in place: push the image (the commands above), then deploy again"))
    risks = []
    if digest and r.clients.ecr is not None:  # what the image itself says: architecture, user, volumes
        errors, risks = image(r.clients.ecr, cfg, digest, r.clients.fetch)
        problems += errors
    if problems and r.opts.execute:
        raise Problems("preflight", problems)
    return digest, [*problems, *risks]


def bootstrap(r: Run, cfg: Config, build: Build) -> Result:
    """`enrollcfn bootstrap`: the checks that need no image, then only NAME-bootstrap (created,
    adopting what an earlier destroy kept, or updated), then the repository's URI and the commands
    that push a release to it. The delivery and root stacks are left to `deploy`."""
    result = Result()
    early_checks(r, cfg, build)
    name = bootstrap_stack_name(r.opts.stack)
    stack = bootstrap_stack(r, cfg, build, result)
    if stack is None:  # a plan of its creation
        result.pending = True
        return result
    result.outputs = output_map(stack)
    uri = result.outputs.get(REPOSITORY_URI, "")
    r.console.report(f"{name}: ready; ECR repository {uri}")
    _push_instructions(r, cfg, uri, r.opts.image_tag or RELEASE_TAG)
    return result


def _push_instructions(r: Run, cfg: Config, uri: str, tag: str) -> None:
    """The commands that push the image under release tag `tag` and deploy it, one per line."""
    r.console.report("push a release under a tag of its own (tags are immutable: each is pushed once), then deploy it:")
    for command in push_commands(cfg, uri, tag, r.opts.deploy_command):
        r.console.report(f"  {command}")


def bootstrap_stack(r: Run, cfg: Config, build: Build, result: Result) -> dict | None:
    """Plan or deploy NAME-bootstrap; a new one first adopts the resources an earlier stack of it
    kept (adopt.py). Its description afterwards, None while only planned."""
    name = bootstrap_stack_name(r.opts.stack)
    tags = stack_tags(cfg, name)
    _adopt(r, cfg, build["bootstrap"], name, tags, result)
    return standalone(r, name, build["bootstrap"], {}, tags, result)


def _adopt(r: Run, cfg: Config, compiled: Stack, name: str, tags: dict[str, str], result: Result) -> None:
    """Before NAME-bootstrap is created: when resources of its fixed names exist (what `destroy`
    kept), create the stack by importing exactly those (an IMPORT change set), so the create that
    follows is an update adding the rest. Refuses, before anything is created, a resource of
    another live stack or another environment."""
    existing = describe(r.cfn, name, r.sleep)
    if existing is not None and existing["StackStatus"] != "REVIEW_IN_PROGRESS":
        return
    kept = adopt.find(r.cfn, r.clients.ecr, r.clients.s3, compiled.doc, name, environment_tags(cfg))
    for k in kept:
        r.console.report(k.line(name))
    if not kept or not r.opts.execute:
        return
    body = json.dumps(adopt.import_template(compiled.doc, kept), sort_keys=True)
    change_set = cs.create_change_set(r.cfn, Target(name, template_body=body, capabilities=()), "IMPORT", tags, [k.request() for k in kept])
    plan = _review(r, name, change_set, fresh=True)
    if plan is None:
        raise DeployError(name, "the import change set holds no changes; nothing was adopted")
    r.console.preview(plan, f"{name}: import", r.opts.as_json)
    _guard(r, plan, change_set, name, fresh=True)
    follow(r, name, lambda: cs.execute(r.cfn, change_set), cancel_on_timeout=False)
    result.changed.append(name)


def _delivery(r: Run, cfg: Config, build: Build, bucket: str, result: Result) -> str | None:
    """Plan or deploy NAME-delivery when the build has it; the execution role the root's change
    sets run as (release: deploy), None otherwise or while the delivery stack is only planned."""
    if DELIVERY not in build.stacks:
        return None
    name = delivery_stack_name(r.opts.stack)
    params = {ROOT_STACK_NAME: r.opts.stack, ARTIFACT_BUCKET_NAME: bucket} if cfg.delivery.release == "deploy" else {}
    stack = standalone(r, name, build[DELIVERY], params, stack_tags(cfg, name), result)
    if stack is None or cfg.delivery.release != "deploy":
        return None
    return output(name, output_map(stack), CLOUDFORMATION_ROLE_ARN)


def _protect(r: Run, cfg: Config, result: Result) -> None:
    """After a deploy: stack policies, and termination protection in production (again only when
    needed). Protection follows `production` as deletion protection does: a production stack is
    deleted only after --disable-termination-protection; any other by `destroy` alone (which still
    asks for its name)."""
    stack = describe(r.cfn, r.opts.stack, r.sleep)
    if not r.opts.execute or stack is None:
        return
    if r.opts.stack in result.changed or bool(stack.get("EnableTerminationProtection")) != cfg.production:
        protected = cs.protect(r.cfn, stack["StackId"], cfg.production)
        r.console.report(f"{r.opts.stack}: stack policy on {len(protected)} stacks (no replacing or deleting the "
                         f"database), termination protection {'on' if cfg.production else 'off (production: false)'}")
    result.outputs = output_map(stack)


def _computed(r: Run, cfg: Config, build: Build, result: Result) -> None:
    """plan: the property-level changes and the cost difference, from deployed vs compiled templates."""
    from enrollcfn import template_diff

    stack = describe(r.cfn, r.opts.stack, r.sleep)
    if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        return  # a creation: the change set already lists every resource
    product, boot = build.product(), describe(r.cfn, bootstrap_stack_name(r.opts.stack), r.sleep)
    diff = template_diff.compare(r.cfn, stack["StackId"], product[ROOT].doc, {n: s.doc for n, s in product.items()},
                                 cfg.region, build.cost.total, boot["StackId"] if boot else None, build.prices)
    result.computed = diff.to_json()
    r.console.report(template_diff.render(diff, r.opts.stack))


def stack_tags(cfg: Config, stack: str) -> dict[str, str]:
    """The tags of every stack this tool creates: ownership (what recreate and destroy check),
    and the environment's tags."""
    return {cs.OWNER_TAG: stack, **environment_tags(cfg)}


def environment_tags(cfg: Config) -> dict[str, str]:
    """Project and environment (CloudFormation copies them to every resource that takes tags; the
    budget counts the costs carrying the environment's)."""
    return {"project": cfg.project, ENVIRONMENT_TAG: cfg.environment}


def standalone(r: Run, name: str, compiled: Stack, parameters: dict[str, str], tags: dict[str, str],
               result: Result | None = None) -> dict | None:
    """Plan or deploy a stack sent as TemplateBody (bootstrap, catalog) under `name`; its description
    afterwards, None when it does not exist yet (a plan of its creation)."""
    target = Target(name, template_body=compiled.text, parameters=parameters, capabilities=cs.capabilities([compiled.doc]))
    if apply(r, target, compiled.doc, tags) and result is not None:
        result.changed.append(name)
    stack = describe(r.cfn, name, r.sleep)
    return None if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS" else stack


def apply(r: Run, target: Target, doc: Mapping, tags: dict[str, str], probe=None, template_check=None) -> bool:
    """Plan, and unless planning only, deploy one stack whose template is `doc`. True when it had changes."""
    name = target.name
    stack = cs.settle(r.cfn, name, r.sleep, r.clock, r.opts.timeout_minutes * 60, r.console.report)
    kind = cs.decide(stack, name, r.opts.recreate_failed)
    if kind == "UPDATE" and cs.unchanged(r.cfn, stack, target, doc, tags):
        r.console.report(f"{name}: no changes")
        return False
    if kind == "RECREATE":
        if not r.opts.execute:
            r.console.report(f"{name}: is {stack['StackStatus']}; deploy --recreate-failed deletes and creates it again")
            return True
        _recreate(r, stack, name)
    fresh = kind != "UPDATE"
    change_set = cs.create_change_set(r.cfn, target, "UPDATE" if kind == "UPDATE" else "CREATE", tags)
    plan = _review(r, name, change_set, fresh)
    if plan is None:
        return False
    if template_check is not None and not fresh:
        flagged = {(p, c.logical_id) for p, c in plan.data_loss()}
        plan.flag([(p, c) for p, c in template_check(stack["StackId"]) if (p, c.logical_id) not in flagged])
    r.console.preview(plan, f"{name}: {'create' if fresh else 'update'}", r.opts.as_json)
    if not r.opts.execute:
        _discard(r.cfn, change_set, name, fresh)
        return True
    _guard(r, plan, change_set, name, fresh)
    losses = plan.data_loss()
    opened = [stack["StackId"], *cs.nested_stack_ids(r.cfn, stack["StackId"])] if losses and stack is not None else []
    cs.set_policies(r.cfn, opened, cs.OPEN_POLICY)  # the stack policy would deny what was just allowed
    try:
        follow(r, name, lambda: cs.execute(r.cfn, change_set), cancel_on_timeout=not fresh, probe=probe)
    finally:
        cs.set_policies(r.cfn, opened, cs.STACK_POLICY)
    return True


def _review(r: Run, name: str, change_set: str, fresh: bool) -> StackPlan | None:
    """Wait for the change set and read it as a plan; None (and the change set gone) when empty."""
    desc = cs.wait_change_set(r.cfn, change_set, r.sleep, r.clock)
    plan = None if cs.is_empty(desc) else cs.plan_of(r.cfn, desc, r.sleep, path=name)
    if plan is not None and desc["Status"] == "FAILED":
        reasons = cs.failure_reasons(plan) or [desc.get("StatusReason", "no reason given")]
        raise DeployError(name, "change set failed: " + " | ".join(reasons) + f" (kept for inspection: {change_set})")
    if plan is None or plan.empty:
        _discard(r.cfn, change_set, name, fresh)
        r.console.report(f"{name}: no changes")
        return None
    return plan


def _guard(r: Run, plan: StackPlan, change_set: str, name: str, fresh: bool) -> None:
    """Refuse data loss unless allowed; ask unless --yes. Whatever stops here deletes the change set."""
    losses = plan.data_loss()
    if losses and not r.opts.allow_data_loss:
        _discard(r.cfn, change_set, name, fresh)
        what = "; ".join(f"{path}/{c.logical_id} ({c.type}) {_loss(c)}" for path, c in losses)
        raise DeployError(name, f"refusing to lose data: {what}. Nothing was changed; re-run with --allow-data-loss "
                          "only if you have a backup and mean it")
    try:
        confirmed = r.opts.yes or r.console.confirm(f"Deploy these changes to {name}?")
    except (KeyboardInterrupt, EOFError):
        _discard(r.cfn, change_set, name, fresh)
        raise Interrupted(name, "interrupted at the preview; the change set was deleted and nothing was changed") from None
    if not confirmed:
        _discard(r.cfn, change_set, name, fresh)
        raise DeployError(name, "not confirmed; nothing was changed (pass --yes to skip the question)")


def _loss(change) -> str:
    if change.action == "Remove":
        return "removed"
    return f"replaced (by {', '.join(change.properties)})" if change.properties else "replaced"


def follow(r: Run, name: str, start: Callable[[], object], cancel_on_timeout: bool, probe=None) -> dict:
    """Start a stack operation and report its events (root and nested) until it settles.

    Ctrl-C stops following, never the operation: CloudFormation goes on, and the message says how
    to follow or cancel it."""
    since = datetime.now(timezone.utc)
    start()
    try:
        current = describe(r.cfn, name, r.sleep)
        if current is None:  # already gone (a delete that finished at once)
            return {}
        watcher = progress.Watch(r.cfn, current["StackId"], since, r.console.report, r.sleep, probe(since) if probe else None)
        return progress.watch(r.cfn, watcher, name, r.clock, r.clock() + r.opts.timeout_minutes * 60, cancel_on_timeout)
    except KeyboardInterrupt:
        raise Interrupted(name, interrupted(r.cfn, name)) from None


def interrupted(cfn, name: str) -> str:
    """What Ctrl-C left: each stack's state now and the commands to follow, cancel or recover."""
    try:
        stack = describe(cfn, name)
        states = {name: stack["StackStatus"]} if stack else {}
        states.update({n["LogicalResourceId"]: n["ResourceStatus"] for n in nested_stacks(cfn, stack["StackId"])} if stack else {})
    except Exception:  # noqa: BLE001 - the state is a courtesy; the commands below are what matters
        states = {}
    now = f" (now: {', '.join(f'{k} {v}' for k, v in states.items())})" if states else ""
    text = (f"stopped following; CloudFormation carries on with the operation{now}. Follow it with `enrollcfn status --stack {name}` "
            f"or `aws cloudformation describe-stack-events --stack-name {name}`")
    if states.get(name, "UPDATE_IN_PROGRESS") == "UPDATE_IN_PROGRESS":
        text += f"; cancel the update with `aws cloudformation cancel-update-stack --stack-name {name}`"
    return text + f"; if it ends UPDATE_ROLLBACK_FAILED, `enrollcfn recover --stack {name}`; once it settles, deploy again to continue"


def _recreate(r: Run, stack: dict, name: str) -> None:
    r.console.report(f"{name}: {stack['StackStatus']}, deleting it before creating it again (--recreate-failed)")
    follow(r, name, lambda: cs.delete(r.cfn, name, allow_protected=False), cancel_on_timeout=False)


def _discard(cfn, change_set: str, name: str, fresh: bool) -> None:
    """Delete a change set that will not run, and the empty REVIEW_IN_PROGRESS stack a CREATE left."""
    cfn.delete_change_set(ChangeSetName=change_set)
    stack = describe(cfn, name) if fresh else None
    if stack is not None and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        cfn.delete_stack(StackName=stack["StackId"])


def recover(r: Run, skip: list[str]) -> None:
    """Continue a rollback stopped in UPDATE_ROLLBACK_FAILED, skipping `skip`, and follow it."""
    follow(r, r.opts.stack, lambda: cs.recover(r.cfn, r.opts.stack, skip), cancel_on_timeout=False)


def _probe(clients: Clients, cfg: Config):
    if clients.ecs is None:
        return None
    return lambda since: progress.service_probe(clients.ecs, cfg.cluster.name, cfg.service.name, since)
