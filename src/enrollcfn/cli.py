"""The command line: the only place that parses arguments, creates AWS sessions, prints or exits.

Command logic lives in the modules named for the job (compiler, output, cost, pipeline,
publishing); each command here reads its arguments, calls one of them and prints the result.

Exit codes: 0 success; 1 error (one line `error: <key>: <message>` per problem on stderr, never a
traceback for bad input); 2 `plan` found changes pending, or `drift` found drift; 3 `status`
found the stack degraded; 64 a usage error (a bad flag, as argparse reports it; no environment or
stack named, a malformed --since or --to, words on the wrong side of `--`: UsageError); 130 interrupted
(Ctrl-C, with what was left and how to go on). `run` exits with the container's exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback

from enrollcfn import __version__
from enrollcfn.commands import build, ci, day2, envs, local, publish, stack, stackset
from enrollcfn.commands.common import Parser, debugging
from enrollcfn.commands.target import resolve, split_dashes
from enrollcfn.errors import EnrollcfnError, Interrupted, LintError, Problems, UsageError, one_line
from enrollcfn.exits import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE

GROUPS = (envs, stack, day2, build, publish, ci, stackset, local)

EPILOG = """\
a first deploy (enrollcfn.yaml names each environment: its config, stack, account and region):
  enrollcfn init production --zone example.com --email ops@example.com
  enrollcfn bootstrap production               bucket, ECR repository, boundary; prints the push commands
  enrollcfn deploy production --image-tag release-1
  enrollcfn show production                    API URL, outputs, image and config file
  enrollcfn ls                                 each environment's stack state and image

trying it without an account:
  eval "$(enrollcfn local up)"                 a local AWS on 127.0.0.1 (and the variables that point at it)
  enrollcfn local down

offline:
  enrollcfn build                              compile config defaults into build/ and lint them
  enrollcfn build --config config/dev.yaml --out /tmp/dev
  enrollcfn cost --config config/dev.yaml --json
  enrollcfn prices --region us-east-2 --out us-east-2.yaml   current prices from the AWS Price List API

changes (every one says environment, account, region and stack first):
  enrollcfn plan production                    preview every change (exit 2 when changes are pending)
  enrollcfn deploy production --yes --timeout 45
  enrollcfn recover production --skip-resource Service
  enrollcfn destroy staging
  enrollcfn secrets set production MAIL_PASSWORD < value.txt
  enrollcfn publish production --portfolio Platform --product enrollment-api \\
      --principal arn:aws:iam::123456789012:role/Developers

day 2:
  enrollcfn status production                  is it healthy? (exit 3 when degraded)
  enrollcfn logs production --since 15m --follow
  enrollcfn run production -- php artisan migrate --force
  enrollcfn exec staging                       a shell in a running task (ECS Exec)
  enrollcfn rollback production                back to the previous image, through a change set
  enrollcfn drift production                   what changed outside CloudFormation (exit 2 when drifted)

many accounts and delivery:
  enrollcfn stackset deploy --ous ou-ab12-cdef3456 --regions ap-southeast-2 us-east-1
  enrollcfn ci-workflow production --install git+https://github.com/OWNER/enrollcfn@<commit> --out .github/workflows/deploy.yml

Without enrollcfn.yaml every environment command takes --stack NAME --config FILE instead of ENV.
exit codes: 0 done, 1 error, 2 plan: changes pending / drift: drifted, 3 status: degraded,
64 usage error, 130 interrupted; run: the container's exit code.
The region is the config's `region`; credentials follow boto3 (--profile, the environment's
profile, AWS_* variables); AWS_ENDPOINT_URL points every client at a local emulator.
--debug on any command prints the full trace of an error; NO_COLOR turns colour off.
"""


def main(argv: list[str] | None = None, client_factory=None, sleep=None) -> int:
    """Run one command; return its exit code.

    `client_factory(service_name)` makes the AWS clients (tests pass fakes); by default boto3
    clients in the config's region. `sleep` is every wait between polls (tests pass one that
    does not sleep)."""
    parser = _parser()
    head, tail = split_dashes(list(sys.argv[1:] if argv is None else argv))  # run/exec: ENV before --, the command after
    args = parser.parse_args(head)
    args.after_dashes = tail
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    args.client_factory = client_factory
    args.sleep = sleep or time.sleep
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The command, with every failure turned into its lines on stderr and its exit code; with
    --debug (or ENROLLCFN_DEBUG=1) each is preceded by its full trace."""
    debug = debugging(args)
    try:
        if hasattr(args, "env_name"):
            resolve(args)
        return args.func(args)
    except BrokenPipeError:  # the reader went away (`enrollcfn cost | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        _trace(debug)
        print("interrupted; nothing was left half done", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        _trace(debug)
        return _failed(exc, debug)


def _failed(exc: Exception, debug: bool) -> int:
    """The lines and exit code of a failure."""
    if isinstance(exc, UsageError):
        error(exc)
        return EXIT_USAGE
    if isinstance(exc, Problems):
        for problem in exc.problems:
            error(problem)
        return EXIT_ERROR
    if isinstance(exc, LintError):
        for finding in exc.findings:  # a finding traced to a config key is an error at that key
            if isinstance(finding, EnrollcfnError):
                error(finding)
            else:
                print(f"  {finding}", file=sys.stderr)
        error(exc)
        return EXIT_ERROR
    if isinstance(exc, Interrupted):
        error(exc)
        return EXIT_INTERRUPTED
    if isinstance(exc, EnrollcfnError):
        error(exc)
        return EXIT_ERROR
    aws = _aws_failure(exc)
    if aws is not None:
        error(aws)
        return EXIT_ERROR
    # Anything else is a fault in enrollcfn itself: one line, and the trace on request.
    hint = "the trace is above" if debug else "run it again with --debug for the trace"
    error(EnrollcfnError("internal", f"{type(exc).__name__}: {exc} (a fault in enrollcfn; {hint})"))
    return EXIT_ERROR


def _trace(debug: bool) -> None:
    if debug:
        traceback.print_exc()


def _aws_failure(exc: Exception) -> EnrollcfnError | None:
    """An AWS-side failure as one line, or None for anything else (a bug: let it show)."""
    if "botocore" not in sys.modules:  # commands that never talk to AWS do not pay for botocore
        return None
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ResponseParserError) or _raised_by_parser(exc):  # a proxy, a web server, a captive portal
        return EnrollcfnError("aws", f"{endpoint()} answered with something that is not an AWS response; "
                              "check AWS_ENDPOINT_URL, proxies (HTTPS_PROXY) and the network")
    if isinstance(exc, (BotoCoreError, ClientError)):  # credentials, network, permissions, AWS-side limits
        return EnrollcfnError("aws", str(exc))
    return None


def _raised_by_parser(exc: Exception) -> bool:
    """True when botocore's response parser itself failed: on well-formed XML of the wrong shape
    (an HTML page) it raises KeyError or AttributeError, not ResponseParserError."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename.replace("\\", "/").endswith("botocore/parsers.py")


def endpoint() -> str:
    """The endpoint clients talk to, for messages."""
    return os.environ.get("AWS_ENDPOINT_URL") or "the AWS endpoint"


def error(exc: EnrollcfnError) -> None:
    # Messages bound what they quote; this keeps the promise of one line of bounded length for
    # anything they did not (a path holding a newline, a name of a few KB from AWS).
    print(f"error: {one_line(exc.key, 200)}: {one_line(exc.message, 800)}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="enrollcfn",
        description="Compile one typed config into nested CloudFormation for the Student Enrollment "
        "Laravel API on ECS Fargate; lint, cost, deploy through change sets, publish to Service Catalog.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"enrollcfn {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    for group in GROUPS:  # each module owns its commands' arguments; the order is --help's
        group.register(sub)
    return parser


def reference() -> str:
    """docs/commands.md: every command's --help, generated from the parser (CI checks it is current)."""
    import io

    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal: the same width everywhere
    parser = _parser()
    out = io.StringIO()
    out.write("# Command reference\n\nGenerated from `enrollcfn`'s own parser (`python -m enrollcfn.cli > docs/commands.md`); "
              "`enrollcfn COMMAND --help` prints the same.\n")
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subs.choices.items():
        out.write(f"\n## {name}\n\n```\n{sub.format_help().rstrip()}\n```\n")
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        for verbs in nested:
            for verb, verb_parser in verbs.choices.items():
                out.write(f"\n### {name} {verb}\n\n```\n{verb_parser.format_help().rstrip()}\n```\n")
    return out.getvalue()


if __name__ == "__main__":
    sys.stdout.write(reference())
