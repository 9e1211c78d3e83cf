"""The `stackset` commands: the bootstrap stack in many accounts and regions (stacksets.py)."""

from __future__ import annotations

import argparse

from enrollcfn.commands import _build_for, _clients, _confirm, _confirm_destroy, load_config
from enrollcfn.errors import EnrollcfnError
from enrollcfn.exits import EXIT_DEGRADED, EXIT_OK, EXIT_PENDING

HEALTHY = ("SUCCEEDED",)


def _open(args: argparse.Namespace, need_regions: bool = True):
    """Targets checked first (no AWS call on a bad one), then the config, build and StackSets."""
    from enrollcfn import compiler, stacksets

    cfg = load_config(args.config)
    targets = stacksets.parse(cfg, args.accounts, args.ous, args.regions, need_regions)
    build = _build_for(args, cfg=cfg)[1] if need_regions else compiler.compile(cfg)  # a deploy or plan lints what it sends
    report = lambda line: print(line, flush=True)  # noqa: E731
    return stacksets.StackSets(_clients(args, cfg)("cloudformation"), cfg, build, report), targets


def _show(plan) -> None:
    verb = "create" if not plan.exists else ("update (template changed)" if plan.template_changed else "unchanged")
    print(f"{plan.name}: StackSet {verb}")
    for _, change in plan.losses:
        print(f"  ! {change.logical_id} ({change.type}) would be {'removed' if change.action == 'Remove' else 'replaced'}: data loss")
    for target, regions in plan.add.items():
        print(f"  + instances for {target} in {', '.join(regions)}")


def cmd_stackset_plan(args: argparse.Namespace) -> int:
    """Compare the StackSet with what `stackset deploy` would send: a new StackSet, a changed
template (with data-loss markers), instances to add. Changes nothing. Exit 2 when changes are pending."""
    sets, targets = _open(args)
    plan = sets.plan(targets)
    _show(plan)
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
    _show(plan)
    if not plan.pending:
        print("nothing to deploy")
        return EXIT_OK
    if not args.yes and not _confirm(f"Deploy StackSet {plan.name}?"):
        raise EnrollcfnError(plan.name, "not confirmed; nothing was changed (pass --yes when not at a terminal)")
    sets.deploy(targets, args.allow_data_loss)
    print(f"{plan.name}: deployed")
    return EXIT_OK


def cmd_stackset_status(args: argparse.Namespace) -> int:
    """Every stack instance of the StackSet: account, region, state, reason. Exit 3 when any
instance is not current and succeeded."""
    from enrollcfn import stacksets

    sets, _ = _open(args, need_regions=False)
    if sets.describe() is None:
        raise EnrollcfnError(sets.name, "no such StackSet; `enrollcfn stackset deploy` creates it")
    bad = 0
    for i in sets.instances():
        state = stacksets.instance_state(i)
        ok = i.get("Status") == "CURRENT" and state in HEALTHY
        bad += not ok
        print(f"  {i['Account']} {i['Region']:<15} {i.get('Status', ''):<10} {state}{'' if ok else ' - ' + i.get('StatusReason', '')}")
    print(f"{sets.name}: {'degraded' if bad else 'healthy'}")
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
    _confirm_destroy(args, sets.name, "StackSet")
    gone = sets.destroy(targets.regions, args.retain_stacks)
    print(f"{sets.name}: {len(gone)} instance(s) deleted{' (stacks kept)' if args.retain_stacks else ''}")
    kept = stacksets.kept_on_delete(sets.build)
    if kept and not args.retain_stacks:
        print(f"kept in each account and region on purpose: {', '.join(kept)}")
    return EXIT_OK
