"""`stackset`: the bootstrap stack in many accounts and regions (enrollcfn.stacksets)."""

from __future__ import annotations

import argparse
from pathlib import Path

from enrollcfn.commands.common import (build_for, clients, command, config_arg, confirm, confirm_name, emit, json_arg, load_config,
                                       prices_arg, profile_arg, say, verbs, yes_arg)
from enrollcfn.errors import EnrollcfnError
from enrollcfn.exits import EXIT_DEGRADED, EXIT_OK, EXIT_PENDING

HEALTHY = ("SUCCEEDED",)


def register(sub) -> None:
    v = verbs(sub, "stackset", "the bootstrap stack in many accounts and regions (CloudFormation StackSets)",
              "The bootstrap stack (artifact bucket, ECR repository, permissions boundary) as the StackSet "
              "<project>-<environment>-bootstrap; permission model and operation preferences come from the config's stackset section.")
    for name, func, help_ in (("plan", cmd_stackset_plan, "what deploy would do (exit 2 when changes are pending)"),
                              ("deploy", cmd_stackset_deploy, "create or update the StackSet and add missing instances"),
                              ("status", cmd_stackset_status, "every instance's state (exit 3 when one is unhealthy)"),
                              ("destroy", cmd_stackset_destroy, "delete the instances, then the StackSet")):
        p = command(v, name, func, help_)
        config_arg(p)
        profile_arg(p)
        p.add_argument("--accounts", nargs="+", default=[], metavar="ID", help="12-digit account ids (self-managed; with --ous: only these accounts of them)")
        p.add_argument("--ous", nargs="+", default=[], metavar="OU", help="organizational unit ids ou-... or the root r-... (service-managed)")
        p.add_argument("--regions", nargs="+", default=[], metavar="REGION",
                       help="regions, deployed in this order after the config's region" + (" (destroy: only these)" if name == "destroy" else ""))
        if name in ("plan", "deploy"):
            p.add_argument("--build", type=Path, default=None, metavar="DIR", help="use the templates of a previous `enrollcfn build --out DIR`")
            prices_arg(p)
        if name in ("deploy", "destroy"):
            yes_arg(p, "do not ask (for CI)")
            p.add_argument("--allow-data-loss", action="store_true", help="allow removing or replacing a bucket or the repository in the instances")
        if name == "destroy":
            p.add_argument("--retain-stacks", action="store_true", help="remove the instances from the StackSet but keep their stacks")
        json_arg(p)


def _open(args: argparse.Namespace, need_regions: bool = True):
    """Targets checked first (no AWS call on a bad one), then the config, build and StackSets."""
    from enrollcfn import compiler, stacksets

    cfg = load_config(args.config)
    targets = stacksets.parse(cfg, args.accounts, args.ous, args.regions, need_regions)
    build = build_for(args, cfg=cfg)[1] if need_regions else compiler.compile(cfg)  # a deploy or plan lints what it sends
    return stacksets.StackSets(clients(args, cfg)("cloudformation"), cfg, build, lambda line: say(args, line), args.sleep), targets


def _show(args: argparse.Namespace, plan, result: str | None = None) -> None:
    """The plan (and, after a deploy, `result`): lines, or one JSON document with --json."""
    verb = "create" if not plan.exists else ("update (template changed)" if plan.template_changed else "unchanged")
    losses = [{"logical_id": c.logical_id, "type": c.type, "action": "removed" if c.action == "Remove" else "replaced"} for _, c in plan.losses]
    lines = [f"{plan.name}: StackSet {verb}",
             *(f"  ! {x['logical_id']} ({x['type']}) would be {x['action']}: data loss" for x in losses),
             *(f"  + instances for {target} in {', '.join(regions)}" for target, regions in plan.add.items())]
    data = {"stackset": plan.name, "stackset_change": verb, "data_loss": losses, "add": {t: list(r) for t, r in plan.add.items()},
            "pending": plan.pending}
    if result:
        data["result"] = result
        lines.append(f"{plan.name}: {result}" if result == "deployed" else result)
    emit(args, data, lines)


def cmd_stackset_plan(args: argparse.Namespace) -> int:
    """Compare the StackSet with what `stackset deploy` would send: a new StackSet, a changed
template (with data-loss markers), instances to add. Changes nothing. Exit 2 when changes are pending."""
    sets, targets = _open(args)
    plan = sets.plan(targets)
    _show(args, plan)
    return EXIT_PENDING if plan.pending else EXIT_OK


def cmd_stackset_deploy(args: argparse.Namespace) -> int:
    """Deploy the bootstrap stack (artifact bucket, ECR repository, permissions boundary) as the
StackSet <project>-<environment>-bootstrap to --ous (service-managed; --accounts narrows them)
or --accounts (self-managed), in --regions (the config's region first: the boundary is made there).

Steps: check the targets (no AWS call on a bad one), compile and lint, read the StackSet and its
instances, show the plan, refuse a template change that removes or replaces a bucket or the
repository unless --allow-data-loss, ask (or --yes), create or update the StackSet, add the missing
instances, and follow each operation instance by instance with stackset.* operation preferences.
A failed instance is printed with its account, region and reason, and the exit code is 1."""
    sets, targets = _open(args)
    plan = sets.plan(targets)
    if not plan.pending:
        _show(args, plan, "nothing to deploy")
        return EXIT_OK
    if not args.json:
        _show(args, plan)
    if not args.yes and not confirm(f"Deploy StackSet {plan.name}?"):
        raise EnrollcfnError(plan.name, "not confirmed; nothing was changed (pass --yes when not at a terminal)")
    sets.deploy(targets, args.allow_data_loss)
    if args.json:
        _show(args, plan, "deployed")
    else:
        say(args, f"{plan.name}: deployed")
    return EXIT_OK


def cmd_stackset_status(args: argparse.Namespace) -> int:
    """Every stack instance of the StackSet: account, region, state, reason. Exit 3 when any
instance is not current and succeeded."""
    from enrollcfn import stacksets

    sets, _ = _open(args, need_regions=False)
    if sets.describe() is None:
        raise EnrollcfnError(sets.name, "no such StackSet; `enrollcfn stackset deploy` creates it")
    rows, lines = [], []
    for i in sets.instances():
        state = stacksets.instance_state(i)
        ok = i.get("Status") == "CURRENT" and state in HEALTHY
        rows.append({"account": i["Account"], "region": i["Region"], "status": i.get("Status", ""), "state": state,
                     "reason": i.get("StatusReason", ""), "healthy": ok})
        lines.append(f"  {i['Account']} {i['Region']:<15} {i.get('Status', ''):<10} {state}{'' if ok else ' - ' + i.get('StatusReason', '')}")
    bad = sum(not r["healthy"] for r in rows)
    lines.append(f"{sets.name}: {'degraded' if bad else 'healthy'}")
    emit(args, {"stackset": sets.name, "instances": rows, "healthy": not bad}, lines)
    return EXIT_DEGRADED if bad else EXIT_OK


def cmd_stackset_destroy(args: argparse.Namespace) -> int:
    """Delete the StackSet's instances (only those in --regions, when given) and then the StackSet
once none is left. Each deleted stack keeps what its template retains (the artifact bucket and
the ECR repository with its images). --retain-stacks removes instances from the StackSet and
keeps their stacks. Refused while the template would delete a data-holding resource, unless
--allow-data-loss."""
    from enrollcfn import stacksets

    sets, targets = _open(args, need_regions=False)
    if sets.describe() is None:
        raise EnrollcfnError(sets.name, "no such StackSet; nothing to delete")
    losing = stacksets.losing_on_delete(sets.build)
    if losing and not (args.allow_data_loss or args.retain_stacks):
        raise EnrollcfnError(sets.name, f"deleting its stacks deletes {', '.join(losing)}; pass --allow-data-loss or --retain-stacks")
    confirm_name(args, sets.name, "StackSet")
    gone = sets.destroy(targets.regions, args.retain_stacks)
    kept = [] if args.retain_stacks else stacksets.kept_on_delete(sets.build)
    lines = [f"{sets.name}: {len(gone)} instance(s) deleted{' (stacks kept)' if args.retain_stacks else ''}"]
    if kept:
        lines.append(f"kept in each account and region on purpose: {', '.join(kept)}")
    emit(args, {"stackset": sets.name, "deleted": gone, "stacks_kept": args.retain_stacks, "kept": list(kept)}, lines)
    return EXIT_OK
