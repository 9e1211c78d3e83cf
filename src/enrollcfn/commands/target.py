"""Which environment a command acts on: `resolve` turns `enrollcfn deploy production` into the
stack and config the project file pairs (and checks --stack/--config against it). The project file
itself is enrollcfn.project; the check before a change is enrollcfn.guard.
"""

from __future__ import annotations

import argparse

from enrollcfn.errors import EnrollcfnError, UsageError


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
    if name is not None:
        check_name(name)
    found = pf.find()
    args.project, args.environment = found, None
    if name is None and not args.stack and getattr(args, "env_optional", False):  # build, cost: --config or the defaults
        return
    if name is None and not args.stack:
        names = f"the environment ({', '.join(found.environments)})" if found else "an environment of enrollcfn.yaml"
        raise UsageError("usage", f"name {names} or the stack with --stack NAME")
    if name is not None:
        if found is None:
            raise EnrollcfnError(name, f"no project file names environments here (looked for {pf.searched()}); "
                                 "`enrollcfn init` writes one, or use --stack NAME --config FILE")
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


def check_name(name: str) -> None:
    """An environment's name as the project file allows it (typed as a word: never empty, no
    spaces, not an option); one line keyed ENV otherwise."""
    import re

    from enrollcfn.project import ENVIRONMENT_NAME

    if not re.fullmatch(ENVIRONMENT_NAME, name):
        raise UsageError("usage", f"ENV {name[:40]!r} is not an environment name: a letter or digit, then up to 62 letters, digits and _.-")


def check_region(args: argparse.Namespace, cfg) -> None:
    """The project file and the config agree on the region (the config's is the one clients use)."""
    env = getattr(args, "environment", None)
    if env is not None and env.region != cfg.region:
        raise EnrollcfnError(f"environments.{env.name}.region", f"{args.project.path} says {env.region}, but {env.config} says "
                             f"region {cfg.region}; make them agree")


