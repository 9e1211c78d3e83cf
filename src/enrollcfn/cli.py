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
from pathlib import Path

from enrollcfn import __version__, commands as c, commands_ci as ci, commands_env as envs, commands_ops as ops, commands_stackset as ss
from enrollcfn.errors import EnrollcfnError, Interrupted, LintError, Problems, UsageError, one_line

from enrollcfn.exits import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE

EPILOG = """\
examples:
  enrollcfn build                              compile config defaults into build/ and lint them
  enrollcfn build --config config/dev.yaml --out /tmp/dev
  enrollcfn lint build                         cfn-lint every template in build/
  enrollcfn cost --json                        monthly estimate of the default config, as JSON
  enrollcfn prices --region us-east-2 --out us-east-2.yaml   current prices from the AWS Price List API
  enrollcfn build --config us-east-2.cfg.yaml --prices us-east-2.yaml
  enrollcfn plan --stack se-prod               preview every change (exit 2 when changes are pending)
  enrollcfn deploy --stack se-prod             bootstrap, upload, change set, preview, confirm, execute
  enrollcfn deploy --stack se-prod --build build --yes --timeout 45
  enrollcfn recover --stack se-prod --skip-resource Service
  enrollcfn destroy --stack se-prod
  enrollcfn publish --stack se-prod --portfolio Platform --product enrollment-api \\
      --principal arn:aws:iam::123456789012:role/Developers
  enrollcfn publish --stack se-prod --portfolio Platform --product enrollment-api \\
      --share-ou ou-ab12-cdef3456 --principal-pattern arn:aws:iam:::role/Developers

environments by name (enrollcfn.yaml; every stack command takes ENV instead of --stack/--config):
  enrollcfn ls                                 each environment's stack state and image
  enrollcfn deploy production                  the stack and config enrollcfn.yaml pairs, in its account only
  enrollcfn show production                    API URL, outputs, image and config file
  enrollcfn secrets ls production              which application secret keys are set (never their values)
  enrollcfn secrets set production MAIL_PASSWORD < value.txt

day 2:
  enrollcfn status --stack se-prod             is it healthy? (exit 3 when degraded)
  enrollcfn logs --stack se-prod --since 15m --follow
  enrollcfn run --stack se-prod -- php artisan migrate --force
  enrollcfn exec --stack se-dev                a shell in a running task (ECS Exec)
  enrollcfn rollback --stack se-prod           back to the previous image, through a change set
  enrollcfn drift --stack se-prod              what changed outside CloudFormation (exit 2 when drifted)

many accounts:
  enrollcfn stackset plan --ous ou-ab12-cdef3456 --regions ap-southeast-2 us-east-1
  enrollcfn stackset deploy --ous ou-ab12-cdef3456 --regions ap-southeast-2 us-east-1
  enrollcfn stackset status                    every instance's state (exit 3 when one is not healthy)
  enrollcfn stackset destroy --yes

delivery:
  enrollcfn ci-workflow --stack se-prod --out .github/workflows/deploy.yml   GitHub Actions through OIDC

exit codes: 0 done, 1 error, 2 plan: changes pending / drift: drifted, 3 status: degraded,
64 usage error, 130 interrupted; run: the container's exit code.
The region is the config's `region`; credentials follow boto3 (--profile, AWS_* variables);
AWS_ENDPOINT_URL points every client at a local emulator.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on their own exit code (2 is plan's "changes pending")."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"error: usage: {one_line(message, 300)}\n")  # an argument may be 100 KB


def main(argv: list[str] | None = None, client_factory=None, sleep=None) -> int:
    """Run one command; return its exit code.

    `client_factory(service_name)` makes the AWS clients (tests pass fakes); by default boto3
    clients in the config's region."""
    parser = _parser()
    head, tail = envs.split_dashes(list(sys.argv[1:] if argv is None else argv))  # run/exec: ENV before --, the command after
    args = parser.parse_args(head)
    args.after_dashes = tail
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    args.client_factory = client_factory
    args.sleep = sleep or time.sleep  # every wait between polls (tests pass one that does not sleep)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        if hasattr(args, "env_name"):
            envs.resolve(args)
        return args.func(args)
    except UsageError as exc:
        error(exc)
        return EXIT_USAGE
    except Problems as exc:
        for problem in exc.problems:
            error(problem)
        return EXIT_ERROR
    except LintError as exc:
        for finding in exc.findings:  # a finding traced to a config key is an error at that key
            if isinstance(finding, EnrollcfnError):
                error(finding)
            else:
                print(f"  {finding}", file=sys.stderr)
        error(exc)
        return EXIT_ERROR
    except Interrupted as exc:
        error(exc)
        return EXIT_INTERRUPTED
    except EnrollcfnError as exc:
        error(exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; nothing was left half done", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`enrollcfn cost | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        aws = _aws_failure(exc)
        if aws is None:
            raise
        error(aws)
        return EXIT_ERROR


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
    parser = _Parser(
        prog="enrollcfn",
        description="Compile one typed config into nested CloudFormation for the Student Enrollment "
        "Laravel API on ECS Fargate; lint, cost, deploy through change sets, publish to Service Catalog.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"enrollcfn {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    _local_commands(sub)
    _stack_commands(sub)
    _day2_commands(sub)
    _env_commands(sub)
    _ci_commands(sub)
    _stackset_commands(sub)
    return parser


def _command(sub, name: str, func, help_: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_, description=(func.__doc__ or "").strip(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=func)
    return p


def _local_commands(sub) -> None:
    p = _command(sub, "build", c.cmd_build, "compile + lint (+ quota checks) into a directory")
    _config_arg(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output directory (default: build/): new, empty, or a previous build's")
    _prices_arg(p)
    _cache_arg(p)

    p = _command(sub, "lint", c.cmd_lint, "cfn-lint every template in a directory, in one process")
    p.add_argument("dir", nargs="?", type=Path, default=None, metavar="DIR", help="directory of templates (default: build/)")
    _config_arg(p)
    _cache_arg(p)

    p = _command(sub, "cost", c.cmd_cost, "offline monthly estimate, line by line")
    _config_arg(p)
    p.add_argument("--usage", type=Path, default=None, metavar="FILE", help="YAML overrides of the usage assumptions (data transfer, log volume, ...)")
    _prices_arg(p)
    p.add_argument("--json", action="store_true", help="print the lines as JSON")

    p = _command(sub, "prices", c.cmd_prices, "read a region's current prices from the AWS Price List API into a price file")
    p.add_argument("--region", required=True, metavar="REGION", help="the region to price (the API itself is called in us-east-1)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE", help="write the price file here (default: print it)")
    p.add_argument("--profile", default=None, help="AWS profile (default: boto3's usual lookup)")


def _stack_commands(sub) -> None:
    p = _command(sub, "plan", c.cmd_plan, "preview the changes a deploy would make (exit 2 when changes are pending)")
    _stack_args(p, from_build=True)
    _image_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable plan on stdout (progress goes to stderr)")

    p = _command(sub, "deploy", c.cmd_deploy, "deploy through change sets, with preview, data-loss guard and live progress")
    _stack_args(p, from_build=True)
    _image_arg(p)
    p.add_argument("--yes", action="store_true", help="execute without asking (for CI)")
    p.add_argument("--allow-data-loss", action="store_true",
                   help="allow removing or replacing the database, a bucket, the repository, a secret or a log group")
    p.add_argument("--recreate-failed", action="store_true",
                   help="delete and re-create a stack whose first creation failed (ROLLBACK_COMPLETE)")
    _timeout_arg(p, "give up after this long; an update is cancelled and rolled back (default 60)")
    p.add_argument("--json", action="store_true", help="machine-readable summary on stdout")

    p = _command(sub, "recover", c.cmd_recover, "continue a rollback that failed (UPDATE_ROLLBACK_FAILED)")
    _stack_args(p)
    p.add_argument("--skip-resource", action="append", default=[], metavar="LOGICAL_ID",
                   help="a resource the rollback may leave as it is (repeatable; nested: StackName.LogicalId)")
    _timeout_arg(p, "stop following after this long")

    p = _command(sub, "destroy", c.cmd_destroy, "delete the root and bootstrap stacks; list what stays (retained buckets, repository, snapshot) with the commands to remove it")
    _stack_args(p)
    p.add_argument("--yes", action="store_true", help="do not ask for the stack name as confirmation")
    p.add_argument("--disable-termination-protection", action="store_true", help="turn termination protection off first")
    _timeout_arg(p, "stop following after this long")

    p = _command(sub, "publish", c.cmd_publish, "package and publish the product to Service Catalog")
    _stack_args(p, from_build=True)
    p.add_argument("--portfolio", required=True, metavar="NAME", help="portfolio display name (created once, found by name afterwards)")
    p.add_argument("--product", required=True, metavar="NAME", help="product name (created once, found by name afterwards)")
    p.add_argument("--principal", action="append", default=[], metavar="ARN", help="IAM role, group or user ARN allowed to provision (repeatable)")
    p.add_argument("--keep", type=_positive, default=None, metavar="N", help="deactivate versions older than the newest N")
    p.add_argument("--yes", action="store_true", help="create or update the NAME-catalog launch-role stack without asking")
    p.add_argument("--json", action="store_true", help="print what was created, reused, updated and removed as JSON")
    _share_args(p)


def _share_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("sharing the portfolio through AWS Organizations (from the management account or a delegated admin)")
    g.add_argument("--share-account", action="append", default=[], metavar="ID",
                   help="share with this account of the organization, 12 digits (repeatable; accepted automatically)")
    g.add_argument("--share-ou", action="append", default=[], metavar="OU",
                   help="share with every account of this organizational unit, ou-... (repeatable; principal patterns are shared too)")
    g.add_argument("--principal-pattern", action="append", default=[], metavar="ARN",
                   help="IAM_PATTERN principal without an account, e.g. arn:aws:iam:::role/Developers (wildcards * ?; at most 10)")
    g.add_argument("--unshare-account", action="append", default=[], metavar="ID", help="stop sharing with this account (repeatable)")
    g.add_argument("--unshare-ou", action="append", default=[], metavar="OU", help="stop sharing with this organizational unit (repeatable)")


def _day2_commands(sub) -> None:
    p = _command(sub, "status", ops.cmd_status, "is it healthy? stacks, service, tasks, targets, alarms, database (exit 3 degraded)")
    _stack_args(p, json_=True)

    p = _command(sub, "logs", ops.cmd_logs, "the service's (or the redeploy function's) CloudWatch logs")
    _stack_args(p, json_=True)
    p.add_argument("--since", default="1h", metavar="AGE", help="how far back: 30s, 15m, 1h, 2d (default 1h)")
    p.add_argument("--follow", action="store_true", help="keep printing new events until Ctrl-C")
    p.add_argument("--filter", default=None, metavar="TEXT", help="only events containing TEXT (a literal, not a pattern)")
    p.add_argument("--task", default=None, metavar="ID", help="only the events of one task (its id, as `status` shows)")
    p.add_argument("--function", choices=["redeploy"], default=None, help="read the redeploy function's logs instead")

    p = _command(sub, "run", ops.cmd_run, "a one-off task from the service's task definition; exits with its exit code")
    _stack_args(p, json_=True)
    p.add_argument("--detach", action="store_true", help="print the task id and return without waiting")
    p.add_argument("command", nargs="*", metavar="-- COMMAND", help="the command and its arguments, after --")

    p = _command(sub, "exec", ops.cmd_exec, "a shell or a command in a running task (ECS Exec)")
    _stack_args(p, json_=True)
    p.add_argument("--task", default=None, metavar="ID", help="the task to enter (default: the first running one)")
    p.add_argument("command", nargs="*", metavar="-- COMMAND", help="what to run (default /bin/sh)")

    p = _command(sub, "rollback", ops.cmd_rollback, "back to the previous (or a named) image through a previewed change set")
    _stack_args(p, from_build=True, json_=True)
    p.add_argument("--to", default=None, metavar="REVISION|DIGEST", help="a task definition revision number or an image digest (sha256:...)")
    p.add_argument("--yes", action="store_true", help="execute without asking (for CI)")
    p.add_argument("--allow-data-loss", action="store_true", help="as for deploy")
    _timeout_arg(p, "give up after this long; the update is cancelled and rolled back (default 60)")

    p = _command(sub, "drift", ops.cmd_drift, "drift detection on every stack, per resource and property (exit 2 drifted)")
    _stack_args(p, json_=True)


def _env_commands(sub) -> None:
    p = _command(sub, "ls", envs.cmd_ls, "the environments of enrollcfn.yaml: stack state and image digest, one line each")
    p.add_argument("--profile", default=None, help="AWS profile for every environment (default: each environment's, else boto3's)")
    p.add_argument("--json", action="store_true", help="print the environments as JSON")

    p = _command(sub, "show", envs.cmd_show, "one environment: API URL, outputs, image and config file")
    _stack_args(p, json_=True)

    p = sub.add_parser("secrets", help="the application secret's keys: which are set, and setting one from standard input",
                       description="The application secret (the root output AppSecretArn), one key per name in the config's service.secrets.")
    verbs = p.add_subparsers(title="secrets commands", metavar="VERB", parser_class=_Parser, required=True)
    v = _command(verbs, "ls", envs.cmd_secrets_ls, "each key and whether it is set or missing (never the values)")
    _stack_args(v, json_=True)
    v = _command(verbs, "set", envs.cmd_secrets_set, "set one key from standard input or a prompt that does not echo")
    _stack_args(v, positional=False)
    v.add_argument("secret_env", nargs="?", default=None, metavar="ENV", help="an environment of enrollcfn.yaml (or --stack/--config)")
    v.add_argument("secret_name", metavar="NAME", help="the key, one of the config's service.secrets, e.g. MAIL_PASSWORD")
    v.add_argument("--force", action="store_true", help="allow setting APP_KEY (every user is logged out)")
    v.add_argument("--restart", action="store_true", help="start new tasks afterwards (ECS force-new-deployment) so they read the new value")


def _ci_commands(sub) -> None:
    p = _command(sub, "ci-workflow", ci.cmd_ci_workflow, "write the application repository's GitHub Actions workflow (OIDC, no keys)")
    _stack_args(p)
    p.add_argument("--out", type=Path, default=None, metavar="FILE", help="write it here, e.g. .github/workflows/deploy.yml (default: print it)")
    p.add_argument("--repo-config", default="enrollcfn.yaml", metavar="PATH",
                   help="where the config file lives in the application repository (release: deploy; default enrollcfn.yaml)")
    p.add_argument("--install", default=None, metavar="SPEC",
                   help="what the workflow pip-installs to get enrollcfn (release: deploy; default enrollcfn==<this version>)")


def _stackset_commands(sub) -> None:
    p = sub.add_parser("stackset", help="the bootstrap stack in many accounts and regions (CloudFormation StackSets)",
                       description="The bootstrap stack (artifact bucket, ECR repository, permissions boundary) as the StackSet "
                       "<project>-<environment>-bootstrap; permission model and operation preferences come from the config's stackset section.")
    verbs = p.add_subparsers(title="stackset commands", metavar="VERB", parser_class=_Parser, required=True)
    for name, func, help_ in (("plan", ss.cmd_stackset_plan, "what deploy would do (exit 2 when changes are pending)"),
                              ("deploy", ss.cmd_stackset_deploy, "create or update the StackSet and add missing instances"),
                              ("status", ss.cmd_stackset_status, "every instance's state (exit 3 when one is unhealthy)"),
                              ("destroy", ss.cmd_stackset_destroy, "delete the instances, then the StackSet")):
        v = _command(verbs, name, func, help_)
        _config_arg(v)
        v.add_argument("--profile", default=None, help="AWS profile (default: boto3's usual lookup)")
        v.add_argument("--accounts", nargs="+", default=[], metavar="ID", help="12-digit account ids (self-managed; with --ous: only these accounts of them)")
        v.add_argument("--ous", nargs="+", default=[], metavar="OU", help="organizational unit ids ou-... or the root r-... (service-managed)")
        v.add_argument("--regions", nargs="+", default=[], metavar="REGION",
                       help="regions, deployed in this order after the config's region" + (" (destroy: only these)" if name == "destroy" else ""))
        if name in ("plan", "deploy"):
            v.add_argument("--build", type=Path, default=None, metavar="DIR", help="use the templates of a previous `enrollcfn build --out DIR`")
            _prices_arg(v)
        if name in ("deploy", "destroy"):
            v.add_argument("--yes", action="store_true", help="do not ask (for CI)")
            v.add_argument("--allow-data-loss", action="store_true", help="allow removing or replacing a bucket or the repository in the instances")
        if name == "destroy":
            v.add_argument("--retain-stacks", action="store_true", help="remove the instances from the StackSet but keep their stacks")


def _stack_args(p: argparse.ArgumentParser, from_build: bool = False, json_: bool = False, positional: bool = True) -> None:
    if positional:
        p.add_argument("env_name", nargs="?", default=None, metavar="ENV", help="an environment of enrollcfn.yaml: its stack and config")
    else:
        p.set_defaults(env_name=None)
    p.add_argument("--stack", default=None, metavar="NAME", help="root stack name (its bootstrap stack is NAME-bootstrap); "
                   "with ENV it must be ENV's")
    _config_arg(p)
    p.add_argument("--profile", default=None, help="AWS profile (default: boto3's usual lookup)")
    if from_build:
        p.add_argument("--build", type=Path, default=None, metavar="DIR",
                       help="use the templates of a previous `enrollcfn build --out DIR` instead of compiling")
        _prices_arg(p)
    if json_:
        p.add_argument("--json", action="store_true", help="machine-readable output on stdout (progress goes to stderr)")


def _image_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image-tag", default=None, metavar="TAG",
                   help="run this tag's image (by its digest); default: the digest the service runs now, else service.image_tag's")


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, metavar="FILE", help="YAML overrides of the defaults (e.g. config/production.yaml)")


def _prices_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prices", type=Path, default=None, metavar="FILE",
                   help="price file from `enrollcfn prices` (default: the bundled one for the region; none: lines say unpriced)")


def _cache_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-cache", action="store_true", help="lint every template again, ignoring cached results (also ENROLLCFN_NO_CACHE=1)")


def _timeout_arg(p: argparse.ArgumentParser, help_: str) -> None:
    p.add_argument("--timeout", type=_minutes, default=60.0, metavar="MINUTES", help=help_)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0
    if not 0 < value < 10_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of minutes")
    return value


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
