"""Environments by name (enrollcfn.yaml): `ls`, `show`, and the application secret's keys
(`secrets ls`, `secrets set`)."""

from __future__ import annotations

import argparse
import getpass
import sys

from enrollcfn.commands.common import before_change, clients, command, emit, json_arg, load_config, located, profile_arg, stack_args, verbs
from enrollcfn.errors import EnrollcfnError

MAX_SECRET = 65_536  # Secrets Manager: SecretString is at most 65,536 bytes
APP_KEY = "APP_KEY"


def register(sub) -> None:
    p = command(sub, "ls", cmd_ls, "the environments of enrollcfn.yaml: stack state and image digest, one line each")
    p.add_argument("--profile", default=None, help="AWS profile for every environment (default: each environment's, else boto3's)")
    json_arg(p, "print the environments as JSON")

    p = command(sub, "show", cmd_show, "one environment: API URL, outputs, image and config file")
    stack_args(p, json_=True)

    v = verbs(sub, "secrets", "the application secret's keys: which are set, and setting one from standard input",
              "The application secret (the root output AppSecretArn), one key per name in the config's service.secrets.")
    p = command(v, "ls", cmd_secrets_ls, "each key and whether it is set or missing (never the values)")
    stack_args(p, json_=True)
    p = command(v, "set", cmd_secrets_set, "set one key from standard input or a prompt that does not echo")
    stack_args(p, positional=False, json_=True)
    p.add_argument("secret_env", nargs="?", default=None, metavar="ENV", help="an environment of enrollcfn.yaml (or --stack/--config)")
    p.add_argument("secret_name", metavar="NAME", help="the key, one of the config's service.secrets, e.g. MAIL_PASSWORD")
    p.add_argument("--force", action="store_true", help="allow setting APP_KEY (every user is logged out)")
    p.add_argument("--restart", action="store_true", help="start new tasks afterwards (ECS force-new-deployment) so they read the new value")


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
    rows = [overview.row(clients(args, env=env), env, found.base) for env in found.environments.values()]
    emit(args, {"project": str(found.path), "environments": rows}, overview.render_rows(rows))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """One environment: its API URL, the root stack's status and outputs, the image it runs
(ImageDigest and ImageTag parameters) and the config file it is deployed with. Changes nothing."""
    from enrollcfn import guard
    from enrollcfn.operations import overview
    from enrollcfn.stacks import describe

    cfg = load_config(args.config)
    client = clients(args, cfg)
    stack = describe(client("cloudformation"), args.stack)
    if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        raise guard.missing(args, args.stack, cfg.region)
    base = args.project.base if args.project else None
    shown = overview.show(stack, args.environment, args.config, cfg, base)
    emit(args, shown, overview.render_show(shown))
    return 0


def cmd_secrets_ls(args: argparse.Namespace) -> int:
    """Name each key of the application secret (the root output AppSecretArn) the config's
service.secrets lists, and whether it is set (not empty) or missing; keys the secret holds beyond
them are listed as extra. Values are never read out."""
    from enrollcfn.operations import secrets

    cfg, client, dep = _secret_located(args)
    doc = secrets.read(client("secretsmanager"), dep)
    rows = secrets.states(doc, cfg.service.secrets)
    lines = [f"  {r['name']:<28} {r['state']}" for r in rows]
    if missing := [r["name"] for r in rows if r["state"] == "missing"]:
        lines.append(f"{len(missing)} missing; set one with `enrollcfn secrets set {_who(args)} NAME` (the value is read from standard input)")
    emit(args, {"stack": args.stack, "secret": secrets.arn(dep), "keys": rows}, lines)
    return 0


def cmd_secrets_set(args: argparse.Namespace) -> int:
    """Set key NAME of the application secret (the root output AppSecretArn): the value is read
from standard input when it is not a terminal (`printf %s "$VALUE" | enrollcfn secrets set
production MAIL_PASSWORD`; one trailing newline is dropped), else asked for without echo. It is
never taken from the command line and never printed. NAME must be one of the config's
service.secrets; APP_KEY needs --force (a new key logs every user out and makes encrypted values
unreadable). Running tasks read the secret when they start: --restart starts new tasks (ECS
force-new-deployment); without it the command that does so is printed."""
    from enrollcfn.operations import secrets

    name = args.secret
    cfg, client, dep = _secret_located(args, check_name=True)
    before_change(args, cfg, client, require="root")
    value = _read_value(name)
    sm = client("secretsmanager")
    doc = secrets.read(sm, dep)
    secrets.put(sm, dep, doc, name, value)
    del value
    cluster, service = secrets.service(dep)
    lines = [f"{name} set in {secrets.arn(dep)}"]
    if args.restart:
        client("ecs").update_service(cluster=cluster, service=service, forceNewDeployment=True)
        lines.append(f"restarting: new tasks of {service} start with the new value (follow with `enrollcfn status {_who(args)}`)")
    else:
        profile = f" --profile {args.profile}" if args.profile else ""
        lines.append(f"running tasks read secrets when they start; restart them with `aws ecs update-service --cluster {cluster} "
                     f"--service {service} --force-new-deployment --region {cfg.region}{profile}` (or pass --restart)")
    emit(args, {"stack": args.stack, "secret": secrets.arn(dep), "set": name, "restarted": args.restart}, lines)
    return 0


def _who(args: argparse.Namespace) -> str:
    return args.environment.name if args.environment else f"--stack {args.stack}"


def _secret_located(args: argparse.Namespace, check_name: bool = False):
    """`located`, after checking NAME against the config's service.secrets (set)."""
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
