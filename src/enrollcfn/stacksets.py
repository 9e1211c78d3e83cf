"""The bootstrap stack (artifact bucket, ECR repository, permissions boundary) in many accounts
and regions, as one CloudFormation StackSet named `<project>-<environment>-bootstrap`.

Targets are checked before any AWS call. A deploy creates or updates the StackSet (refusing a
template change that removes or replaces a bucket or the repository unless allowed), then adds
the stack instances that are missing, and follows each operation instance by instance. StackSets
have no change sets: `plan` compares the deployed StackSet's template and instances with what
a deploy would send.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable

from cfn_flip import load_yaml

from enrollcfn import changes, sharing
from enrollcfn.compiler import Build
from enrollcfn.config import Config
from enrollcfn.config.names import prefix
from enrollcfn.config.regions import known_regions
from enrollcfn.changesets import capabilities, create_only_properties
from enrollcfn.errors import EnrollcfnError, Problems
from enrollcfn.pipeline import environment_tags

TEMPLATE = "bootstrap"
# botocore's CloudFormation model: Account ^[0-9]{12}$ and OrganizationalUnitId, an OU (as
# Organizations writes one, sharing.OU_ID) or the organization's root.
OU = re.compile(rf"{sharing.OU_ID.pattern}|r-[a-z0-9]{{4,32}}")
MAX_OUS = 50  # CreateStackInstances takes at most 50 OUs (API reference); target a parent OU for more
DONE = {"SUCCEEDED", "FAILED", "STOPPED"}
POLL = 10.0  # seconds; an instance takes a minute or more, and StackSets reads are throttled


@dataclass(frozen=True)
class Targets:
    """Where the StackSet's instances go: accounts (self-managed, or an INTERSECTION filter with
    OUs), OUs (service-managed), regions in deployment order (the config's region first)."""

    accounts: tuple[str, ...] = ()
    ous: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


def parse(cfg: Config, accounts: list[str], ous: list[str], regions: list[str], need_regions: bool = True) -> Targets:
    """The targets of the command line, or Problems naming each bad flag value (no AWS call)."""
    bad = [EnrollcfnError("--accounts", f"{a[:40]!r} is not an AWS account id: 12 digits") for a in accounts if not sharing.ACCOUNT_ID.fullmatch(a)]
    bad += [EnrollcfnError("--ous", f"{o[:70]!r} is not an organizational unit id: ou-<4-32>-<8-32> or the root r-<4-32>, "
                                    "lower-case letters and digits") for o in ous if not OU.fullmatch(o)]
    if len(set(ous)) > MAX_OUS:
        bad.append(EnrollcfnError("--ous", f"{len(set(ous))} OUs; one StackSets operation takes at most {MAX_OUS}: name a parent OU instead"))
    known = known_regions()
    bad += [EnrollcfnError("--regions", f"{r[:40]!r} is not a region the stacks can use (known: {', '.join(known)})") for r in regions if r not in known]
    model = cfg.stackset.permission_model
    if model == "SERVICE_MANAGED" and not ous and (accounts or need_regions):
        bad.append(EnrollcfnError("--ous", "stackset.permission_model SERVICE_MANAGED deploys to organizational units: name at least "
                                           "one (--accounts then narrows them to those accounts)"))
    if model == "SELF_MANAGED" and ous:
        bad.append(EnrollcfnError("--ous", "stackset.permission_model SELF_MANAGED deploys to accounts, not OUs: use --accounts"))
    if model == "SELF_MANAGED" and not accounts and need_regions:
        bad.append(EnrollcfnError("--accounts", "stackset.permission_model SELF_MANAGED needs at least one target account"))
    if need_regions and cfg.region not in regions:
        # The account-wide permissions boundary is created only in the config's region (templates/bootstrap.py).
        bad.append(EnrollcfnError("--regions", f"must include the config's region {cfg.region}: the permissions boundary every "
                                               "role needs is created there in each account"))
    if bad:
        raise Problems("stackset", bad)
    ordered = tuple(dict.fromkeys([cfg.region, *regions])) if regions else ()
    return Targets(tuple(dict.fromkeys(accounts)), tuple(dict.fromkeys(ous)), ordered)


def stack_set_name(cfg: Config) -> str:
    """`<project>-<environment>-bootstrap`: at most 75 characters, within StackSets' 128 (letters,
    digits and hyphens, starting with a letter, as project names do)."""
    return f"{prefix(cfg.project, cfg.environment)}-{TEMPLATE}"


@dataclass
class Plan:
    """What a deploy would do: create or update the StackSet, and which instances it adds."""

    name: str
    exists: bool
    template_changed: bool
    losses: list = field(default_factory=list)
    add: dict[str, tuple[str, ...]] = field(default_factory=dict)  # target -> regions it lacks
    instances: list[dict] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return not self.exists or self.template_changed or bool(self.add)


class StackSets:
    """The StackSet commands over one CloudFormation client in the config's (administrator's) region."""

    def __init__(self, cfn, cfg: Config, build: Build, report: Callable[[str], None], sleep=time.sleep):
        self.cfn, self.cfg, self.build, self.report, self.sleep = cfn, cfg, build, report, sleep
        self.name = stack_set_name(cfg)
        self.call_as = {"CallAs": cfg.stackset.call_as}

    # reads
    def describe(self) -> dict | None:
        try:
            return self.cfn.describe_stack_set(StackSetName=self.name, **self.call_as)["StackSet"]
        except self.cfn.exceptions.StackSetNotFoundException:
            return None

    def instances(self) -> list[dict]:
        return self._every("list_stack_instances")

    def _every(self, operation: str, **params) -> list[dict]:
        """Every page's Summaries of a StackSets list call."""
        pages = self.cfn.get_paginator(operation).paginate(StackSetName=self.name, **self.call_as, **params)
        return [s for page in pages for s in page.get("Summaries", [])]

    def plan(self, targets: Targets) -> Plan:
        stack_set = self.describe()
        compiled = self.build.stacks[TEMPLATE]
        if stack_set is None:
            return Plan(self.name, False, True, add=self._missing(targets, []))
        deployed = load_yaml(stack_set.get("TemplateBody") or "{}")
        losses = changes.template_losses(self.name, deployed, compiled.doc, create_only_properties(self.cfg.region))
        current = self.instances()
        # The capabilities follow from the template, so an equal template needs no update.
        return Plan(self.name, True, deployed != compiled.doc, losses, self._missing(targets, current), current)

    def _missing(self, targets: Targets, current: list[dict]) -> dict[str, tuple[str, ...]]:
        """Each target with the regions it has no instance in. An OU counts as present in a
        region once any instance there came from it (an empty OU has none: it is sent again)."""
        have = {(i.get("OrganizationalUnitId") or i["Account"], i["Region"]) for i in current}
        wanted = targets.ous or targets.accounts
        return {t: regions for t in wanted if (regions := tuple(r for r in targets.regions if (t, r) not in have))}

    # writes
    def deploy(self, targets: Targets, allow_data_loss: bool) -> Plan:
        plan = self.plan(targets)
        if plan.losses and not allow_data_loss:
            raise Problems(self.name, [EnrollcfnError(f"{self.name}/{c.logical_id}", f"{changes.DATA_TYPES[c.type]} would be "
                                       f"{'removed' if c.action == 'Remove' else 'replaced'} in every instance; refused without "
                                       "--allow-data-loss") for _, c in plan.losses])
        compiled = self.build.stacks[TEMPLATE]
        common = {"StackSetName": self.name, "TemplateBody": compiled.text, "Capabilities": list(capabilities([compiled.doc])),
                  "Tags": [{"Key": k, "Value": v} for k, v in environment_tags(self.cfg).items()], **self._permissions(), **self.call_as}
        if not plan.exists:
            self.cfn.create_stack_set(**common, Description=compiled.doc.get("Description", ""))
            self.report(f"{self.name}: StackSet created ({self.cfg.stackset.permission_model})")
        elif plan.template_changed and plan.instances:
            # The update reaches every instance: their regions, the config's (the boundary's) first.
            regions = tuple(dict.fromkeys([self.cfg.region, *(i["Region"] for i in plan.instances)]))
            op = self.cfn.update_stack_set(**common, OperationPreferences=self._preferences(regions))["OperationId"]
            self.follow(op, "update")
        elif plan.template_changed:
            self.cfn.update_stack_set(**common)  # no instances: nothing for an operation to follow
        for target_regions, group in _grouped(plan.add).items():
            op = self.cfn.create_stack_instances(StackSetName=self.name, **self._targets(group, targets), Regions=list(target_regions),
                                                 OperationPreferences=self._preferences(target_regions), **self.call_as)["OperationId"]
            self.follow(op, f"add {', '.join(group)} in {', '.join(target_regions)}")
        return plan

    def destroy(self, regions: tuple[str, ...], retain_stacks: bool) -> list[dict]:
        """Delete every instance (in `regions`, when given), then the StackSet once none is left."""
        current = self.instances()
        chosen = [i for i in current if not regions or i["Region"] in regions]
        if chosen:
            by = "OrganizationalUnitId" if self.cfg.stackset.permission_model == "SERVICE_MANAGED" else "Account"
            targets = sorted({i.get(by) or i["Account"] for i in chosen})
            in_regions = list(dict.fromkeys(i["Region"] for i in chosen))
            where = {"DeploymentTargets": {"OrganizationalUnitIds": targets}} if by != "Account" else {"Accounts": targets}
            op = self.cfn.delete_stack_instances(StackSetName=self.name, **where, Regions=in_regions, RetainStacks=retain_stacks,
                                                 OperationPreferences=self._preferences(tuple(in_regions)), **self.call_as)["OperationId"]
            self.follow(op, f"delete {len(chosen)} instance(s)")
        if len(chosen) == len(current):
            self.cfn.delete_stack_set(StackSetName=self.name, **self.call_as)
            self.report(f"{self.name}: StackSet deleted")
        return chosen

    def follow(self, operation_id: str, what: str) -> None:
        """Poll the operation to its end, one line per instance whose state changes; a failed
        instance is reported with its account, region and reason, and raises."""
        self.report(f"{self.name}: {what} (operation {operation_id})")
        seen: dict[tuple[str, str], str] = {}
        while True:
            op = self.cfn.describe_stack_set_operation(StackSetName=self.name, OperationId=operation_id, **self.call_as)["StackSetOperation"]
            for i in self.instances():
                if seen.get((i["Account"], i["Region"])) != (state := instance_state(i)):
                    seen[(i["Account"], i["Region"])] = state
                    self.report(f"  {i['Account']} {i['Region']:<15} {state}{' - ' + i['StatusReason'] if i.get('StatusReason') else ''}")
            if op["Status"] in DONE:
                break
            self.sleep(POLL)
        failed = [r for r in self._every("list_stack_set_operation_results", OperationId=operation_id) if r.get("Status") in ("FAILED", "CANCELLED")]
        if failed or op["Status"] != "SUCCEEDED":
            problems = [EnrollcfnError(f"{r['Account']} {r['Region']}", r.get("StatusReason") or r["Status"]) for r in failed]
            raise Problems(self.name, problems or [EnrollcfnError(self.name, f"operation {operation_id} ended {op['Status']}")])

    def _permissions(self) -> dict:
        s = self.cfg.stackset
        if s.permission_model == "SERVICE_MANAGED":
            return {"PermissionModel": s.permission_model,
                    "AutoDeployment": {"Enabled": s.auto_deployment, "RetainStacksOnAccountRemoval": s.retain_stacks_on_account_removal}}
        roles = {"ExecutionRoleName": s.execution_role_name}
        return {"PermissionModel": s.permission_model, **roles, **({"AdministrationRoleARN": s.administration_role_arn} if s.administration_role_arn else {})}

    def _preferences(self, regions: tuple[str, ...]) -> dict:
        s = self.cfg.stackset
        return {"RegionConcurrencyType": "SEQUENTIAL", "RegionOrder": list(regions),
                "MaxConcurrentCount": s.max_concurrent, "FailureToleranceCount": s.failure_tolerance}

    def _targets(self, group: tuple[str, ...], targets: Targets) -> dict:
        if self.cfg.stackset.permission_model == "SELF_MANAGED":
            return {"Accounts": list(group)}
        deployment = {"OrganizationalUnitIds": list(group)}
        if targets.accounts:  # only these accounts of the OUs
            deployment |= {"Accounts": list(targets.accounts), "AccountFilterType": "INTERSECTION"}
        return {"DeploymentTargets": deployment}


def instance_state(instance: dict) -> str:
    """An instance's detailed state (PENDING, RUNNING, SUCCEEDED, FAILED, ...), else its status."""
    return (instance.get("StackInstanceStatus") or {}).get("DetailedStatus") or instance.get("Status", "")


def losing_on_delete(build: Build) -> list[str]:
    """Data-holding resources of the template that deleting an instance would delete with it."""
    return [f"{logical} ({changes.DATA_TYPES[r['Type']]})" for logical, r in _resources(build)
            if r["Type"] in changes.DATA_TYPES and changes.deletion_policy(r) not in changes.KEEPING]


def kept_on_delete(build: Build) -> list[str]:
    """Resources of the template that each deleted instance leaves behind on purpose."""
    return [f"{logical} ({r['Type']})" for logical, r in _resources(build) if changes.deletion_policy(r) in changes.KEEPING]


def _resources(build: Build) -> list[tuple[str, dict]]:
    return sorted(build.stacks[TEMPLATE].doc.get("Resources", {}).items())


def _grouped(add: dict[str, tuple[str, ...]]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Targets lacking the same regions, together: one CreateStackInstances call per group."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for target, regions in add.items():
        groups.setdefault(regions, []).append(target)
    return {regions: tuple(ts) for regions, ts in groups.items()}
