"""`local`: a local AWS that keeps running (enrollcfn.local.session), for trying every command
without an account: `eval "$(enrollcfn local up)"`, then init, bootstrap, `local push`, deploy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from enrollcfn.commands.common import command, config_arg, emit, json_arg, load_config, verbs
from enrollcfn.errors import EnrollcfnError

STATE_HELP = "the state directory (default: $ENROLLCFN_LOCAL_STATE, else $XDG_STATE_HOME/enrollcfn/local)"


def register(sub) -> None:
    v = verbs(sub, "local", "a local AWS on 127.0.0.1 that keeps running (moto), to try every command without an account",
              "A local AWS (a patched moto server) that outlives the command: `eval \"$(enrollcfn local up)\"` starts it and "
              "points this shell at it; `local push` pushes the seed image's stand-in once the bootstrap made the repository; "
              "`eval \"$(enrollcfn local down)\"` stops it.")
    p = command(v, "up", cmd_up, "start it (or reuse the running one); print the variables to export")
    p.add_argument("--port", type=int, default=None, metavar="N", help="the port on 127.0.0.1 (default: a free one)")
    p.add_argument("--zone", default=None, metavar="DOMAIN", help="the public hosted zone to create (default: the default config's dns.zone_name)")
    p.add_argument("--state", type=Path, default=None, metavar="DIR", help=STATE_HELP)

    p = command(v, "push", cmd_push, "push the seed image's stand-in to an environment's repository under a release tag")
    p.add_argument("push_env", nargs="?", default=None, metavar="ENV", help="an environment of enrollcfn.yaml (or --config)")
    config_arg(p)
    p.add_argument("--tag", default=None, metavar="TAG", help="the release tag (default release-1, as bootstrap's push commands; tags are immutable)")
    p.add_argument("--state", type=Path, default=None, metavar="DIR", help=STATE_HELP)
    json_arg(p)

    p = command(v, "status", cmd_status, "is one running, and where (exit 1 when not)")
    p.add_argument("--state", type=Path, default=None, metavar="DIR", help=STATE_HELP)
    json_arg(p)

    p = command(v, "down", cmd_down, "stop it; print the variables to unset")
    p.add_argument("--state", type=Path, default=None, metavar="DIR", help=STATE_HELP)


def _report(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    """Start a local AWS on 127.0.0.1 in the background (or reuse the one running), create the
public hosted zone the default config names, and print `export` lines for AWS_ENDPOINT_URL, dummy
credentials, the region, and ENROLLCFN_LOCAL_HOSTED_ZONE_ID (the zone's id: the local AWS picks
its own). Progress goes to stderr, so `eval "$(enrollcfn local up)"` sets them in this shell.
Everything the server prints goes to server.log in the state directory."""
    import importlib.util

    from enrollcfn.local import session

    if importlib.util.find_spec("moto") is None:
        raise EnrollcfnError("local", "the local AWS needs moto, which an install without the `local` extra lacks: "
                             "pip install 'enrollcfn[local]' (from a wheel: pipx install \"$(ls dist/enrollcfn-*.whl)[local]\")")
    found = session.up(args.state, port=args.port, hosted_zone=args.zone, report=_report)
    sys.stdout.write(found.exports())
    _report(f"next: enrollcfn init ENV --zone {found.zone_name}, then enrollcfn bootstrap ENV and enrollcfn local push ENV")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    """Push the stand-in of the seed Laravel image to the environment's ECR repository on the local
AWS under --tag (the bootstrap creates the repository: `enrollcfn bootstrap ENV` first). Only the
manifest and the image's config are pushed (what deploy's preflight reads); the local Fargate
(make demo) builds the file system to run it."""
    from enrollcfn.local import session
    from enrollcfn.preflight import RELEASE_TAG

    cfg, tag = load_config(_config_of(args)), args.tag or RELEASE_TAG
    digest = session.push(args.state, cfg.registry.repository_name, tag, report=_report)
    emit(args, {"repository": cfg.registry.repository_name, "tag": tag, "digest": digest},
         f"next: enrollcfn deploy {args.push_env or '--config ' + str(args.config)} --image-tag {tag}")
    return 0


def _config_of(args: argparse.Namespace) -> Path | None:
    """The config of ENV (enrollcfn.yaml) or --config."""
    if args.push_env is None:
        return args.config
    from enrollcfn import project as pf
    from enrollcfn.commands.target import check_name

    check_name(args.push_env)

    found = pf.find()
    if found is None:
        raise EnrollcfnError(args.push_env, f"no project file names environments here (looked for {pf.searched()}); "
                             "`enrollcfn init` writes one, or pass --config")
    return found.get(args.push_env).config


def cmd_status(args: argparse.Namespace) -> int:
    """Whether a local AWS runs, its endpoint and pid. Exit 0 running, 1 not."""
    from enrollcfn.local import session

    found = session.status(args.state, report=_report if not args.json else lambda line: None)
    if args.json:
        emit(args, {"running": found is not None, **({"endpoint": found.endpoint, "pid": found.pid,
                                                      "hosted_zone_id": found.hosted_zone_id} if found else {})}, "")
    return 0 if found else 1


def cmd_down(args: argparse.Namespace) -> int:
    """Stop the local AWS (SIGTERM, then SIGKILL after 5 s) and print `unset` lines for the
variables `up` exported: `eval "$(enrollcfn local down)"`."""
    from enrollcfn.local import session

    if session.down(args.state, report=_report):
        sys.stdout.write(session.unsets())
    return 0
