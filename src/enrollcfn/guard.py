"""Before any change: say where it goes, and refuse when it would go to the wrong place.

Every command that changes an environment (plan's change sets and uploads included: deploy,
plan, rollback, recover, destroy, publish, secrets set) calls `before_change` before its first
AWS call that writes. It prints one line,

    environment production, account 123456789012, region ap-southeast-2, stack se-prod

and refuses (exit 1, nothing changed) when

- the caller's account (STS GetCallerIdentity) is not the one the project file gives the
  environment (only with a project file: without one, the line shows the caller's account);
- the root stack or its bootstrap stack already exists with an `environment` tag (every stack
  enrollcfn creates carries the config's environment, see pipeline.stack_tags) other than the
  config's `environment`: the config of one environment about to be applied to another's stacks.

`missing` is the one line for a stack that does not exist: it names the stack, the region, and
the environments the project file knows (with the closest stack name), and never suggests
creating the stack that was named.
"""

from __future__ import annotations

import argparse
import sys

from enrollcfn.errors import EnrollcfnError
from enrollcfn.stacks import bootstrap_stack_name, describe
from enrollcfn.templates.monitoring import ENVIRONMENT_TAG


def before_change(args: argparse.Namespace, cfg, client, require: str | None = None) -> None:
    """Print where the change goes and refuse a wrong account or a stack of another environment.
    `require`: "root" (the root stack must exist) or "any" (the root or its bootstrap stack)."""
    if getattr(args, "_checked_target", False):  # rollback checks first, then runs deploy's pipeline
        return
    env = getattr(args, "environment", None)
    caller = client("sts").get_caller_identity()["Account"]
    name = env.name if env else cfg.environment
    account = env.account if env else caller
    stream = sys.stderr if getattr(args, "json", False) else sys.stdout
    print(f"environment {name}, account {account}, region {cfg.region}, stack {args.stack}", file=stream, flush=True)
    where = f"account {caller}, region {cfg.region}"
    if env is not None and caller != env.account:
        profile = f" (profile {args.profile})" if getattr(args, "profile", None) else ""
        raise EnrollcfnError(args.stack, f"the credentials{profile} are for account {caller}, but {_source(args)} puts environment "
                             f"{env.name} in account {env.account} (region {cfg.region}); nothing was changed. Use that account's "
                             "credentials (the environment's `profile`, --profile or AWS_PROFILE)")
    cfn = client("cloudformation")
    stacks = {n: describe(cfn, n) for n in (args.stack, bootstrap_stack_name(args.stack))}
    if require == "root" and stacks[args.stack] is None or require == "any" and not any(stacks.values()):
        raise missing(args, args.stack, cfg.region, account=caller, with_bootstrap=require == "any")
    for stack_name, stack in stacks.items():
        deployed = _tags(stack).get(ENVIRONMENT_TAG) if stack else None
        if deployed is not None and deployed != cfg.environment:
            config = f"the config {args.config}" if getattr(args, "config", None) else "the default config (no --config)"
            raise EnrollcfnError(stack_name, f"in {where} this stack belongs to environment {deployed!r} (its {ENVIRONMENT_TAG} tag), "
                                 f"but {config} is environment {cfg.environment!r}; nothing was changed. Use {deployed}'s config "
                                 f"(--config) or name the environment{_known(args)}")
    args._checked_target = True


def missing(args: argparse.Namespace, stack: str, region: str, account: str | None = None, with_bootstrap: bool = False) -> EnrollcfnError:
    """The one line for a stack that does not exist."""
    where = f"account {account}, region {region}" if account else f"region {region}"
    nor = f" (nor {bootstrap_stack_name(stack)})" if with_bootstrap else ""
    project = getattr(args, "project", None)
    if project is None:
        return EnrollcfnError(stack, f"no such stack in {where}{nor}; check --stack, the config's region and the credentials "
                              "(no enrollcfn.yaml names the environments here)")
    stacks = {e.stack: e for e in project.environments.values()}
    env = getattr(args, "environment", None)
    if env is not None and env.stack == stack:
        return EnrollcfnError(stack, f"no such stack in {where}{nor}: environment {env.name} is not deployed (deploy it with "
                              f"`enrollcfn deploy {env.name}`)")
    return EnrollcfnError(stack, f"no such stack in {where}{nor}; {project.suggest(stack, stacks)}")


def _known(args: argparse.Namespace) -> str:
    project = getattr(args, "project", None)
    if project is None:
        return ""
    return " (" + ", ".join(f"{e.name}: {e.stack}" for e in project.environments.values()) + ")"


def _source(args: argparse.Namespace) -> str:
    project = getattr(args, "project", None)
    return str(project.path) if project is not None else "the project file"


def _tags(stack: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
