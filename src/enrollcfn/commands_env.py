"""Environments by name: `resolve` turns `enrollcfn deploy production` into the stack and config
the project file pairs (and checks --stack/--config against it); `ls`, `show` and `secrets` read
what is deployed. The project file itself is enrollcfn.project; the check before a change is
enrollcfn.guard.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from enrollcfn.errors import EnrollcfnError, UsageError

MAX_SECRET = 65_536  # Secrets Manager: SecretString is at most 65,536 bytes
APP_KEY = "APP_KEY"


def split_dashes(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """`run`/`exec`: (the words before the first `--`, the command after it or None)."""
    if argv[:1] in (["run"], ["exec"]) and "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, None


def resolve(args: argparse.Namespace) -> None:
    """Fill args.stack and args.config from the environment named (or from --stack's entry in the
    project file), refuse a --stack or --config that disagrees with it, and set args.environment
    (an enrollcfn.project.Env or None) and args.project (the project file or None)."""
    from enrollcfn import project as pf

    _positionals(args)
    name = args.env_name
    found = pf.find()
    args.project, args.environment = found, None
    if name is None and not args.stack:
        names = f"the environment ({', '.join(found.environments)})" if found else "an environment of enrollcfn.yaml"
        raise UsageError("usage", f"name {names} or the stack with --stack NAME")
    if name is not None:
        if found is None:
            raise EnrollcfnError(name, f"no project file names environments here (looked for {pf.searched()}); "
                                 "write one (README: Environments by name) or use --stack NAME --config FILE")
        env = found.get(name)
        if args.stack and args.stack != env.stack:
            raise EnrollcfnError("--stack", f"{args.stack} is not environment {name}'s stack {env.stack} ({found.path}); "
                                 "leave --stack out or name the environment it belongs to")
    else:
        env = found.by_stack(args.stack) if found else None
    if env is not None:
        if args.config is not None and not _same(args.config, env.config):
            raise EnrollcfnError("--config", f"{args.config} is not environment {env.name}'s config {env.shown_config(found.base)} "
                                 f"({found.path}); leave --config out or fix the project file")
        args.stack, args.config = env.stack, env.config
        if env.profile and not args.profile:
            args.profile = env.profile
    args.environment = env


def _positionals(args: argparse.Namespace) -> None:
    """Sort the positional words of `run`/`exec` (the environment before `--`, the command after
    it) and of `secrets set` ([ENV] NAME)."""
    if hasattr(args, "secret_name"):
        args.env_name, args.secret = args.secret_env, args.secret_name
        return
    tail = getattr(args, "after_dashes", None)
    if not hasattr(args, "command") or not isinstance(args.command, list):
        return
    words = ([args.env_name] if args.env_name else []) + list(args.command)
    if tail is not None:
        if len(words) > 1:
            raise UsageError("usage", f"one environment before --, the command after it; got {' '.join(words)[:80]!r} before --")
        args.env_name, args.command = (words[0] if words else None), ["--", *tail]
    elif args.stack:  # `run --stack NAME php artisan ...`: every word is the command, as before
        args.env_name, args.command = None, words
    else:
        args.env_name, args.command = (words[0] if words else None), words[1:]


def _same(given, wanted) -> bool:
    from pathlib import Path

    try:
        return Path(given).resolve() == Path(wanted).resolve() or Path(given).samefile(wanted)
    except OSError:
        return False


def clients_for(args: argparse.Namespace, env):
    """`client(service)` in the environment's region with its profile (or the test's factory)."""
    if args.client_factory is not None:
        return args.client_factory
    import boto3
    from botocore.config import Config as BotoConfig

    from enrollcfn.commands import CONNECT_TIMEOUT, MAX_ATTEMPTS

    session = boto3.Session(profile_name=args.profile or env.profile, region_name=env.region)
    settings = BotoConfig(connect_timeout=CONNECT_TIMEOUT, read_timeout=60, retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
    return lambda service: session.client(service, config=settings)


def check_region(args: argparse.Namespace, cfg) -> None:
    """The project file and the config agree on the region (the config's is the one clients use)."""
    env = getattr(args, "environment", None)
    if env is not None and env.region != cfg.region:
        raise EnrollcfnError(f"environments.{env.name}.region", f"{args.project.path} says {env.region}, but {env.config} says "
                             f"region {cfg.region}; make them agree")


def cmd_ls(args: argparse.Namespace) -> int:
    """List the environments of the project file (enrollcfn.yaml), one line each: name, stack,
account, region, the root stack's state (its status, or "not deployed") and the image digest it
holds (the root Parameter ImageDigest). An environment whose account is not the caller's is
listed as not checked. Changes nothing."""
    from enrollcfn import project as pf
    from enrollcfn.operations import overview

    found = pf.find()
    if found is None:
        raise EnrollcfnError(pf.FILE_NAME, f"not found (looked for {pf.searched()}); `ls` lists the environments it names")
    rows = [overview.row(clients_for(args, env), env, found.base) for env in found.environments.values()]
    if args.json:
        print(json.dumps({"project": str(found.path), "environments": rows}, indent=2, sort_keys=True))
    else:
        for line in overview.render_rows(rows):
            print(line)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """One environment: its API URL, the root stack's status and outputs, the image it runs
(ImageDigest and ImageTag parameters) and the config file it is deployed with. Changes nothing."""
    from enrollcfn import guard
    from enrollcfn.commands import _clients, load_config
    from enrollcfn.operations import overview
    from enrollcfn.stacks import describe

    cfg = load_config(args.config)
    client = _clients(args, cfg)
    stack = describe(client("cloudformation"), args.stack)
    if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        raise guard.missing(args, args.stack, cfg.region)
    base = args.project.base if args.project else None
    shown = overview.show(stack, args.environment, args.config, cfg, base)
    print(json.dumps(shown, indent=2, sort_keys=True) if args.json else "\n".join(overview.render_show(shown)))
    return 0


def cmd_secrets_ls(args: argparse.Namespace) -> int:
    """Name each key of the application secret (the root output AppSecretArn) the config's
service.secrets lists, and whether it is set (not empty) or missing; keys the secret holds beyond
them are listed as extra. Values are never read out."""
    from enrollcfn.operations import secrets

    cfg, client, dep = _located(args)
    doc = secrets.read(client("secretsmanager"), dep)
    rows = secrets.states(doc, cfg.service.secrets)
    if args.json:
        print(json.dumps({"stack": args.stack, "secret": secrets.arn(dep), "keys": rows}, indent=2, sort_keys=True))
    else:
        for r in rows:
            print(f"  {r['name']:<28} {r['state']}")
        missing = [r["name"] for r in rows if r["state"] == "missing"]
        if missing:
            who = args.environment.name if args.environment else f"--stack {args.stack}"
            print(f"{len(missing)} missing; set one with `enrollcfn secrets set {who} NAME` (the value is read from standard input)")
    return 0


def cmd_secrets_set(args: argparse.Namespace) -> int:
    """Set key NAME of the application secret (the root output AppSecretArn): the value is read
from standard input when it is not a terminal (`printf %s "$VALUE" | enrollcfn secrets set
production MAIL_PASSWORD`; one trailing newline is dropped), else asked for without echo. It is
never taken from the command line and never printed. NAME must be one of the config's
service.secrets; APP_KEY needs --force (a new key logs every user out and makes encrypted values
unreadable). Running tasks read the secret when they start: --restart starts new tasks (ECS
force-new-deployment); without it the command that does so is printed."""
    from enrollcfn import guard
    from enrollcfn.operations import secrets

    name = args.secret
    cfg, client, dep = _located(args, check_name=True)
    guard.before_change(args, cfg, client, require="root")
    value = _read_value(name)
    sm = client("secretsmanager")
    doc = secrets.read(sm, dep)
    secrets.put(sm, dep, doc, name, value)
    del value
    print(f"{name} set in {secrets.arn(dep)}")
    cluster, service = secrets.service(dep)
    if args.restart:
        client("ecs").update_service(cluster=cluster, service=service, forceNewDeployment=True)
        print(f"restarting: new tasks of {service} start with the new value (follow with `enrollcfn status {_who(args)}`)")
    else:
        profile = f" --profile {args.profile}" if args.profile else ""
        print(f"running tasks read secrets when they start; restart them with `aws ecs update-service --cluster {cluster} "
              f"--service {service} --force-new-deployment --region {cfg.region}{profile}` (or pass --restart)")
    return 0


def _who(args: argparse.Namespace) -> str:
    return args.environment.name if args.environment else f"--stack {args.stack}"


def _located(args: argparse.Namespace, check_name: bool = False):
    from enrollcfn.commands import load_config
    from enrollcfn.commands_ops import _located as located

    if not check_name:
        return located(args)
    cfg = load_config(args.config)
    allowed = cfg.service.secrets
    if args.secret not in allowed:
        raise EnrollcfnError(args.secret[:80], f"is not a key of the application secret; the config's service.secrets are: {', '.join(allowed)}")
    if args.secret == APP_KEY and not args.force:
        raise EnrollcfnError(APP_KEY, "changing it logs every user out and makes values Laravel encrypted unreadable; "
                             "pass --force if that is meant")
    return located(args)


def _read_value(name: str) -> str:
    """The value from standard input (not a terminal) or a prompt without echo; never empty."""
    if sys.stdin is None:
        raise EnrollcfnError(name, "no standard input to read the value from; pipe it in")
    if sys.stdin.isatty():
        try:
            value = getpass.getpass(f"{name} (not echoed): ")
        except (EOFError, KeyboardInterrupt):
            raise EnrollcfnError(name, "no value given; nothing was changed") from None
    else:
        value = sys.stdin.read(MAX_SECRET + 2)
        if value.endswith("\r\n"):
            value = value[:-2]
        elif value.endswith("\n"):
            value = value[:-1]
    if len(value.encode("utf-8", "surrogatepass")) > MAX_SECRET:
        raise EnrollcfnError(name, f"the value is longer than {MAX_SECRET:,} bytes, the most a secret holds; nothing was changed")
    if not value:
        raise EnrollcfnError(name, "the value is empty; nothing was changed (pipe the value in, or type it at the prompt)")
    return value
