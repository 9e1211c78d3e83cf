"""What every command module shares: the parser pieces, the config and build, the one way AWS
clients are made, where output goes, and the questions asked.

A command module (build, stack, publish, day2, envs, ci, stackset) owns its arguments
(`register(sub)`) and its functions (`cmd_*`); each function reads the parsed arguments, calls
the module that does the job, and prints what it returns. cli.py parses, dispatches, and turns
errors into one line and an exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from enrollcfn import style
from enrollcfn.errors import EnrollcfnError, one_line
from enrollcfn.exits import EXIT_USAGE

# An unreachable endpoint fails within about 5 s: botocore's standard retry mode makes at most
# MAX_ATTEMPTS tries (the first included) with jittered exponential backoff below 1 s, then 2 s,
# each connect bounded by CONNECT_TIMEOUT. Throttled reads back off further in stacks.calm.
CONNECT_TIMEOUT = 1.5
MAX_ATTEMPTS = 3

ClientFactory = Callable[[str], object]  # service name -> client: the one shape AWS clients are handed down in


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors on their own exit code (2 is plan's "changes pending")."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"error: usage: {one_line(message, 300)}\n")  # an argument may be 100 KB


# ---- the parser ---------------------------------------------------------------------------------

def command(sub, name: str, func, help_: str) -> argparse.ArgumentParser:
    """A sub-command whose description is its function's docstring; every one takes --debug."""
    p = sub.add_parser(name, help=help_, description=(func.__doc__ or "").strip(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=func)
    p.add_argument("--debug", action="store_true",
                   help="on an error print the full trace, and log each AWS call (service and operation, never its data) "
                   "to stderr (also ENROLLCFN_DEBUG=1)")
    return p


def verbs(sub, name: str, help_: str, description: str) -> argparse._SubParsersAction:
    """A command with verbs of its own (`secrets ls`, `stackset deploy`, `local up`)."""
    p = sub.add_parser(name, help=help_, description=description)
    return p.add_subparsers(title=f"{name} commands", metavar="VERB", parser_class=Parser, required=True)


def stack_args(p: argparse.ArgumentParser, from_build: bool = False, json_: bool = False, positional: bool = True) -> None:
    """ENV (or --stack/--config), --profile; with from_build --build and --prices; with json_ --json."""
    if positional:
        p.add_argument("env_name", nargs="?", default=None, metavar="ENV", help="an environment of enrollcfn.yaml: its stack and config")
    else:
        p.set_defaults(env_name=None)
    p.add_argument("--stack", default=None, metavar="NAME", help="root stack name (its bootstrap stack is NAME-bootstrap); "
                   "with ENV it must be ENV's")
    config_arg(p)
    profile_arg(p)
    if from_build:
        p.add_argument("--build", type=Path, default=None, metavar="DIR",
                       help="use the templates of a previous `enrollcfn build --out DIR` instead of compiling")
        prices_arg(p)
    if json_:
        json_arg(p)


def json_arg(p: argparse.ArgumentParser, help_: str = "machine-readable output on stdout (progress goes to stderr)") -> None:
    p.add_argument("--json", action="store_true", help=help_)


def profile_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default=None, help="AWS profile (default: the environment's, else boto3's usual lookup)")


def config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, metavar="FILE", help="YAML overrides of the defaults (e.g. config/production.yaml)")


def prices_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prices", type=Path, default=None, metavar="FILE",
                   help="price file from `enrollcfn prices` (default: the bundled one for the region; none: lines say unpriced)")


def yes_arg(p: argparse.ArgumentParser, help_: str = "execute without asking (for CI)") -> None:
    p.add_argument("--yes", action="store_true", help=help_)


def timeout_arg(p: argparse.ArgumentParser, help_: str) -> None:
    p.add_argument("--timeout", type=minutes, default=60.0, metavar="MINUTES", help=help_)


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0
    if not 0 < value < 10_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of minutes")
    return value


# ---- the config, the build, the clients ---------------------------------------------------------

def load_config(path: Path | None):
    """The validated config, or ConfigErrors with every problem in it (imported here, so `--help`
    and usage errors do not pay for pydantic)."""
    from enrollcfn.config import load

    return load(path)


def build_for(args: argparse.Namespace, skip_lint: tuple[str, ...] = (), cfg=None):
    """The config (read now unless given) and its Build: read from --build DIR, or compiled and linted now."""
    from enrollcfn.compiler import checked
    from enrollcfn.output import read_build

    cfg = cfg or load_config(args.config)
    if getattr(args, "build", None):
        return cfg, read_build(args.build, cfg.region, delivery=cfg.delivery.enabled)
    build = checked(cfg, skip=skip_lint, prices=prices(args, cfg))
    warn(build)
    return cfg, build


def prices(args: argparse.Namespace, cfg):
    """The price table of --prices FILE (checked against the config's region), or None: the bundled one."""
    if getattr(args, "prices", None) is None:
        return None
    from enrollcfn import price_table

    return price_table.read(args.prices, cfg.region)


def warn(build) -> None:
    """The build's warnings, one line each on stderr."""
    for key, message in build.warnings:
        print(f"warning: {key}: {message}", file=sys.stderr, flush=True)


def clients(args: argparse.Namespace, cfg=None, region: str | None = None, env=None) -> ClientFactory:
    """`client(service)`: boto3 clients with bounded connect time and a bounded number of tries in
    the standard retry mode (throttling included), in the config's region (else `region`, else the
    environment's), with --profile or the environment's profile; or the test's factory. With
    --debug each call is logged (service and operation only: parameters may hold secret values)."""
    from enrollcfn.commands.target import check_region

    env = env or getattr(args, "environment", None)
    if cfg is not None:
        check_region(args, cfg)  # enrollcfn.yaml and the config name the same region
    if args.client_factory is not None:
        return args.client_factory
    import boto3
    from botocore.config import Config as BotoConfig

    region = cfg.region if cfg is not None else region or (env.region if env else None)
    session = boto3.Session(profile_name=args.profile or (env.profile if env else None), region_name=region)
    if debugging(args):
        session.events.register("before-parameter-build", _log_call)
    settings = BotoConfig(connect_timeout=CONNECT_TIMEOUT, read_timeout=60, retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
    return lambda service: session.client(service, config=settings)


def _log_call(model=None, context=None, **_) -> None:
    print(f"debug: aws {model.service_model.service_name}.{model.name}", file=sys.stderr, flush=True)


def debugging(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get("ENROLLCFN_DEBUG") == "1"


def before_change(args: argparse.Namespace, cfg, client: ClientFactory, require: str | None = None) -> None:
    """The line saying which environment, account, region and stack is about to change; refuses
    another account or a stack of another environment (enrollcfn.guard)."""
    from enrollcfn import guard

    guard.before_change(args, cfg, client, require)


def located(args: argparse.Namespace):
    """(config, client factory, Deployed) for a command on an existing stack."""
    from enrollcfn.guard import missing
    from enrollcfn.operations import NoSuchStack, locate

    cfg = load_config(args.config)
    client = clients(args, cfg)
    try:
        return cfg, client, locate(client("cloudformation"), args.stack)
    except NoSuchStack:
        raise missing(args, args.stack, cfg.region) from None


# ---- output and questions -----------------------------------------------------------------------

def out(args: argparse.Namespace):
    """Where progress goes: stdout, or stderr when stdout carries JSON."""
    return sys.stderr if getattr(args, "json", False) else sys.stdout


def say(args: argparse.Namespace, line: str) -> None:
    """One progress line (painted only on a terminal without NO_COLOR)."""
    stream = out(args)
    print(style.paint_line(line, stream), file=stream, flush=True)


def emit(args: argparse.Namespace, data, text: str | list[str]) -> None:
    """The command's result: `data` as JSON with --json, else `text` (a string or lines)."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True, default=str), flush=True)
        return
    lines = text.splitlines() if isinstance(text, str) else text
    for line in lines:
        print(style.paint_line(line, sys.stdout), flush=True)


def console(args: argparse.Namespace):
    """The pipeline's Console: progress and previews where `say` puts them; questions on the terminal."""
    from enrollcfn.pipeline import Console

    return Console(report=lambda line: say(args, line), confirm=confirm)


def confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def confirm_name(args: argparse.Namespace, name: str | None = None, what: str = "stack") -> None:
    """The name (default: --stack) typed back, unless --yes; raises when it is not."""
    name = name or args.stack
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise EnrollcfnError(name, "destroy needs confirmation: pass --yes when not at a terminal")
    if input(f"Type the {what} name to delete {name}: ").strip() != name:
        raise EnrollcfnError(name, "confirmation did not match; nothing was deleted")
