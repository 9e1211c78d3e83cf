"""Environments by name (enrollcfn.yaml): `ls`, `show`, and the application secret's keys
(`secrets ls`, `secrets set`)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from enrollcfn.commands.common import before_change, clients, command, emit, json_arg, load_config, located, profile_arg, stack_args, verbs
from enrollcfn.errors import EnrollcfnError

MAX_SECRET = 65_536  # Secrets Manager: SecretString is at most 65,536 bytes
APP_KEY = "APP_KEY"


def register(sub) -> None:
    p = command(sub, "init", cmd_init, "write enrollcfn.yaml and an environment's config from a few answers")
    p.add_argument("env_new", nargs="?", default="production", metavar="ENV", help="the environment's name (default production)")
    p.add_argument("--zone", default=None, metavar="DOMAIN", help="the public hosted zone the API's name goes in, e.g. example.com (asked when at a terminal)")
    p.add_argument("--domain", default=None, metavar="NAME", help="the API's name in the zone (default server.ZONE for production, ENV-server.ZONE otherwise)")
    p.add_argument("--email", default=None, metavar="ADDRESS", help="who hears the alarms (asked when at a terminal; empty: nobody)")
    p.add_argument("--region", default=None, metavar="REGION", help="the region (default: AWS_REGION, the profile's, else ap-southeast-2)")
    p.add_argument("--account", default=None, metavar="ID", help="the 12-digit account (default: the credentials', from STS)")
    p.add_argument("--hosted-zone-id", default=None, metavar="ID", help="the zone's id (default: looked up by name in Route 53)")
    p.add_argument("--stack", default=None, metavar="NAME", help="the root stack's name (default se-ENV)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE", help="where the config goes (default config/ENV.yaml beside enrollcfn.yaml)")
    profile_arg(p)
    p.add_argument("--force", action="store_true", help="replace a config `enrollcfn init` wrote before")
    json_arg(p, "print what was written as JSON")

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


def cmd_init(args: argparse.Namespace) -> int:
    """Write the project file (enrollcfn.yaml, in the working directory unless one is found above
it) and the environment's config (config/ENV.yaml) from a few answers: the public hosted zone,
the API's name in it, who hears the alarms. The zone's id is looked up in Route 53 and the
account read from the credentials (STS) unless given; the config holds only what differs from
the defaults and is validated as deploy reads it before anything is written. An environment whose
name reads as production keeps deletion protection and a final snapshot; any other gets
production: false, so `enrollcfn destroy` removes it all. Nothing in AWS is changed.

  enrollcfn init production --zone example.com --email ops@example.com
  enrollcfn init staging --zone example.com"""
    import dataclasses

    from enrollcfn import inputs, project as pf, scaffold
    from enrollcfn.commands.target import check_name
    from enrollcfn.config.regions import known_regions
    from enrollcfn.output import check_file, write_file

    env_name = args.env_new
    check_name(env_name)
    found = pf.find()
    base = found.base if found else Path.cwd()
    project_path = found.path if found else base / pf.FILE_NAME
    if found and env_name in found.environments:
        raise EnrollcfnError(env_name, f"is already an environment of {found.path}; choose another name, or edit that file")
    zone = args.zone or _ask("the public hosted zone the API's name goes in (e.g. example.com)", "--zone")
    email = args.email if args.email is not None else _ask("who hears the alarms (an e-mail address; empty: nobody)", "--email", optional=True)
    region = args.region or _region_default()
    if region not in known_regions():
        raise EnrollcfnError("--region", f"{region[:40]!r} is not a region the stacks can use (known: {', '.join(known_regions())})")
    config_path = args.config or base / "config" / f"{env_name}.yaml"
    shown = scaffold.relative(config_path, base)
    # Every value checked offline first, with stand-ins for the two AWS is asked for.
    answers = scaffold.Answers(env_name, args.stack or scaffold.default_stack(env_name), args.account or "000000000000", region, zone,
                               args.hosted_zone_id or "Z0000000000000000000", args.domain, email or None, args.profile)
    _validated(answers)
    if config_path.exists() and not args.force:
        raise EnrollcfnError(str(config_path), "exists; `enrollcfn init` does not replace a config (--force replaces one it wrote)")
    check_file(config_path, "--config", "init")
    client = clients(args, region=region)
    account = args.account or client("sts").get_caller_identity()["Account"]
    zone_id = args.hosted_zone_id or scaffold.hosted_zone_id(client("route53"), zone)
    answers = dataclasses.replace(answers, account=account, hosted_zone_id=zone_id)
    _validated(answers)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    write_file(config_path, scaffold.config_text(answers), "--config", "init")
    lines = [f"wrote {config_path}: environment {env_name}, zone {zone} ({zone_id}), region {region}"]
    if found is None:
        write_file(project_path, scaffold.project_text(answers, shown), str(project_path), "init")
        lines.append(f"wrote {project_path}: {env_name} is stack {answers.stack} in account {account}")
    elif (text := inputs.read_text(project_path, pf.FILE_NAME, "project")).startswith(scaffold.HEADER):
        write_file(project_path, text + scaffold.project_entry(answers, shown), str(project_path), "init")
        pf.load(project_path)  # what was appended reads back
        lines.append(f"added {env_name} to {project_path}: stack {answers.stack} in account {account}")
    else:
        lines.append(f"{project_path} was not written by init and is left as it is; add under its environments:\n"
                     + scaffold.project_entry(answers, shown).rstrip())
    lines.append(f"next: `enrollcfn bootstrap {env_name}` (the bucket, the repository and the boundary), push the image, "
                 f"then `enrollcfn deploy {env_name}`")
    emit(args, {"project": str(project_path), "config": str(config_path), "environment": env_name, "stack": answers.stack,
                "account": account, "region": region, "hosted_zone_id": zone_id}, lines)
    return 0


def _validated(answers) -> None:
    """The config and the project entry `answers` make, read back by the readers deploy uses; a
    problem of the project entry is keyed by the flag that gave the value (--account, --stack,
    --profile, --region)."""
    import tempfile

    from pydantic import ValidationError

    from enrollcfn import inputs, project as pf, scaffold
    from enrollcfn.config.problems import translate
    from enrollcfn.errors import ConfigError, Problems

    with tempfile.TemporaryDirectory(prefix="enrollcfn-init-") as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(scaffold.config_text(answers), encoding="utf-8")
        load_config(config)
    try:
        pf.ProjectModel.model_validate(inputs.parse_yaml(scaffold.project_text(answers, "config.yaml"), "project"))
    except ValidationError as exc:
        prefix = f"environments.{answers.environment}."
        raise Problems("init", [ConfigError("--" + p.key.removeprefix(prefix).replace("_", "-") if p.key.startswith(prefix) else p.key,
                                            p.message) for p in translate(exc, pf.ProjectModel).problems]) from None


def _ask(question: str, flag: str, optional: bool = False) -> str:
    from enrollcfn.errors import UsageError

    if not sys.stdin.isatty():
        if optional:
            return ""
        raise UsageError(flag, f"{question}: pass {flag} (no terminal to ask at)")
    try:
        return input(f"{question}: ").strip()
    except EOFError:
        return ""


def _region_default() -> str:
    import os

    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-southeast-2"


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
