"""The command line: the only place that parses arguments, creates AWS sessions, prints or exits.

Exit codes: 0 success, 1 error (one line `error: <key>: <message>` per problem on stderr, never a
traceback for bad input), 2 `plan` found changes pending.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from enrollcfn import __version__, cost
from enrollcfn.config import Config, load, validate
from enrollcfn.errors import ConfigError, EnrollcfnError, LintError

EPILOG = """\
examples:
  enrollcfn build                              compile config defaults into build/ and lint them
  enrollcfn build --config config/dev.yaml --out /tmp/dev
  enrollcfn lint build                         cfn-lint every template in build/
  enrollcfn cost --json                        monthly estimate of the default config, as JSON
  enrollcfn plan --stack se-prod               preview every change (exit 2 when changes are pending)
  enrollcfn deploy --stack se-prod             bootstrap, upload, change set, preview, confirm, execute
  enrollcfn deploy --stack se-prod --yes --timeout 45
  enrollcfn recover --stack se-prod --skip-resource Service
  enrollcfn destroy --stack se-prod
  enrollcfn publish --stack se-prod --portfolio Platform --product enrollment-api \
      --principal arn:aws:iam::123456789012:role/Developers

The region is the config's `region`; credentials follow boto3 (--profile, AWS_* variables);
AWS_ENDPOINT_URL points every client at a local emulator.
"""


def main(argv: list[str] | None = None, client_factory=None) -> int:
    """Run one command; return its exit code.

    `client_factory(service_name)` makes the AWS clients `publish` uses (tests pass fakes); by
    default boto3 clients in the config's region."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    args.client_factory = client_factory
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return args.func(args)
    except ConfigErrors as exc:
        for problem in exc.problems:
            _error(problem)
        return 1
    except EnrollcfnError as exc:
        _error(exc)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (BotoCoreError, ClientError) as exc:  # credentials, network, permissions, AWS-side limits
        _error(EnrollcfnError("aws", str(exc)))
        return 1
    except BrokenPipeError:  # the reader went away (`enrollcfn cost | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


class ConfigErrors(Exception):
    """Several config problems, reported together."""

    def __init__(self, problems: list[ConfigError]):
        super().__init__(f"{len(problems)} config problems")
        self.problems = problems


def _error(exc: EnrollcfnError) -> None:
    print(f"error: {exc.key}: {exc.message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="enrollcfn",
        description="Compile one typed config into nested CloudFormation for the Student Enrollment "
        "Laravel API on ECS Fargate; lint, cost, deploy through change sets, publish to Service Catalog.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"enrollcfn {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("build", help="compile + lint (+ quota checks) into a directory", description=_doc(cmd_build))
    _config_arg(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="output directory (default: build/)")
    _no_cache_arg(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("lint", help="cfn-lint every template in a directory, in one process", description=_doc(cmd_lint))
    p.add_argument("dir", nargs="?", type=Path, default=None, metavar="DIR", help="directory of templates (default: build/)")
    _config_arg(p)
    _no_cache_arg(p)
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("cost", help="offline monthly estimate, line by line", description=_doc(cmd_cost))
    _config_arg(p)
    p.add_argument("--usage", type=Path, default=None, metavar="FILE", help="YAML overrides of the usage assumptions (data transfer, log volume, ...)")
    p.add_argument("--json", action="store_true", help="print the lines as JSON")
    p.set_defaults(func=cmd_cost)

    p = sub.add_parser("plan", help="preview the changes a deploy would make (exit 2 when changes are pending)",
                       description=_doc(cmd_plan), formatter_class=argparse.RawDescriptionHelpFormatter)
    _stack_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable plan on stdout (progress goes to stderr)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("deploy", help="deploy through change sets, with preview, data-loss guard and live progress",
                       description=_doc(cmd_deploy), formatter_class=argparse.RawDescriptionHelpFormatter)
    _stack_args(p)
    p.add_argument("--yes", action="store_true", help="execute without asking (for CI)")
    p.add_argument("--allow-data-loss", action="store_true",
                   help="allow removing or replacing the database, a bucket, the repository, a secret or a log group")
    p.add_argument("--recreate-failed", action="store_true",
                   help="delete and re-create a stack whose first creation failed (ROLLBACK_COMPLETE)")
    p.add_argument("--timeout", type=_minutes, default=60.0, metavar="MINUTES",
                   help="give up after this long; an update is cancelled and rolled back (default 60)")
    p.add_argument("--json", action="store_true", help="machine-readable summary on stdout")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("recover", help="continue a rollback that failed (UPDATE_ROLLBACK_FAILED)", description=_doc(cmd_recover))
    _stack_args(p)
    p.add_argument("--skip-resource", action="append", default=[], metavar="LOGICAL_ID",
                   help="a resource the rollback may leave as it is (repeatable; nested: StackName.LogicalId)")
    p.add_argument("--timeout", type=_minutes, default=60.0, metavar="MINUTES", help="stop following after this long")
    p.set_defaults(func=cmd_recover)

    p = sub.add_parser("destroy", help="delete the root stack (data keeps its snapshot/retain policies)", description=_doc(cmd_destroy))
    _stack_args(p)
    p.add_argument("--yes", action="store_true", help="do not ask for the stack name as confirmation")
    p.add_argument("--disable-termination-protection", action="store_true", help="turn termination protection off first")
    p.add_argument("--timeout", type=_minutes, default=60.0, metavar="MINUTES", help="stop following after this long")
    p.set_defaults(func=cmd_destroy)

    p = sub.add_parser("publish", help="package and publish the product to Service Catalog", description=_doc(cmd_publish))
    _stack_args(p)
    p.add_argument("--portfolio", required=True, metavar="NAME", help="portfolio display name (created once, found by name afterwards)")
    p.add_argument("--product", required=True, metavar="NAME", help="product name (created once, found by name afterwards)")
    p.add_argument("--principal", action="append", default=[], metavar="ARN", help="IAM role, group or user ARN allowed to provision (repeatable)")
    p.add_argument("--keep", type=_positive, default=None, metavar="N", help="deactivate versions older than the newest N")
    p.add_argument("--yes", action="store_true", help="create or update the NAME-catalog launch-role stack without asking")
    p.add_argument("--json", action="store_true", help="print what was created, reused and updated as JSON")
    p.set_defaults(func=cmd_publish)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _stack_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", required=True, metavar="NAME", help="root stack name (its bootstrap stack is NAME-bootstrap)")
    _config_arg(p)
    p.add_argument("--profile", default=None, help="AWS profile (default: boto3's usual lookup)")


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of minutes")
    return value


def _doc(func) -> str:
    return (func.__doc__ or "").strip()


def _no_cache_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-cache", action="store_true",
                   help="lint every template again, ignoring cached results (also: ENROLLCFN_NO_CACHE=1)")


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, metavar="FILE", help="YAML overrides of the defaults (e.g. config/production.yaml)")


def load_config(path: Path | None) -> Config:
    """Load and validate the config, raising every problem at once."""
    cfg = load(path)
    problems = validate(cfg)
    if problems:
        raise ConfigErrors(problems)
    return cfg


def cmd_build(args: argparse.Namespace) -> int:
    """Compile the config into CloudFormation YAML, lint it with cfn-lint, and write it.

    Nothing is written unless every template compiles, fits CloudFormation's quotas and lints
    clean (apart from the reasoned ignores in .cfnlintrc)."""
    from enrollcfn import lintearly
    from enrollcfn.compiler import BUILD_DIR, LINT_CONFIG, write

    started = time.perf_counter()
    lintearly.start(LINT_CONFIG)  # cfn-lint loads on another core while the config is read and compiled
    cfg = load_config(args.config)
    compiled = compile_checked(cfg, cache=not args.no_cache)
    out = args.out or BUILD_DIR
    changed = set(write(compiled.templates, out))
    for name, text in compiled.templates.items():
        path = out / f"{name}.yaml"
        status = "updated" if path in changed else "unchanged"
        resources = len(compiled.objects[name].resources)
        print(f"  {path}  {resources:3d} resources  {len(text.encode()):6d} bytes  {status}")
    estimate = cost.of_compiled(compiled.objects, cfg.region)
    (out / "cost.json").write_text(json.dumps(estimate.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(f"  {out / 'cost.json'}  estimate {estimate.total:.2f} {estimate.currency}/month")
    elapsed = time.perf_counter() - started
    print(f"built {len(compiled.templates)} templates into {out} (lint clean) in {elapsed:.2f}s")
    return 0


def compile_checked(cfg: Config, skip: tuple[str, ...] = (), cache: bool = True):
    """Compile and lint in memory (results cached by content); LintError on any finding. No AWS call.

    `skip` names templates the command does not use (deploy never sends the catalog stack)."""
    from enrollcfn.compiler import LINT_CONFIG, compile_all
    from enrollcfn.lint import lint

    compiled = compile_all(cfg)
    used = {n: text for n, text in compiled.templates.items() if n not in skip}
    findings = lint(used, [cfg.region], LINT_CONFIG, cache=cache)
    if findings:
        for f in findings:
            print(f"  {f}", file=sys.stderr)
        raise LintError("cfn-lint", f"{len(findings)} finding(s); fix them or add a reasoned ignore to .cfnlintrc")
    return compiled


def cmd_lint(args: argparse.Namespace) -> int:
    """Lint every template in a directory with cfn-lint, honouring .cfnlintrc; unchanged
    templates are answered from the cache (--no-cache lints them all again)."""
    from enrollcfn.compiler import BUILD_DIR, LINT_CONFIG
    from enrollcfn.lint import lint_dir

    directory = args.dir or BUILD_DIR
    if not directory.is_dir():
        raise EnrollcfnError(str(directory), "is not a directory of templates")
    cfg = load_config(args.config)
    findings = lint_dir(directory, [cfg.region], LINT_CONFIG, cache=not args.no_cache)
    for f in findings:
        print(f)
    count = len(list(directory.glob("*.yaml")))
    if findings:
        raise LintError("cfn-lint", f"{len(findings)} finding(s) in {count} templates")
    print(f"{count} templates lint clean")
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    """Estimate the monthly cost of the compiled templates, offline, from the region's price data
    and the usage assumptions (the seed's unless --usage overrides them)."""
    from enrollcfn.compiler import compile_all

    cfg = load_config(args.config)
    estimate = cost.of_compiled(compile_all(cfg).objects, cfg.region, cost.load_usage(args.usage))
    print(json.dumps(estimate.to_dict(), indent=2) if args.json else cost.render(estimate))
    return 0


def _clients(cfg: Config, profile: str | None, *services: str):
    """boto3 clients in the config's region with the standard retry mode (throttling included)."""
    import boto3
    from botocore.config import Config as BotoConfig

    session = boto3.Session(profile_name=profile, region_name=cfg.region)
    retries = BotoConfig(retries={"mode": "standard", "max_attempts": 10})
    return [session.client(s, config=retries) for s in services]


def _pipeline(args: argparse.Namespace, execute: bool) -> int:
    from enrollcfn.compiler import CATALOG
    from enrollcfn.pipeline import Clients, Options, run, to_json

    cfg = load_config(args.config)
    compiled = compile_checked(cfg, skip=(CATALOG,))  # every local check passes before the first AWS call
    cfn, s3, ecr, route53, ecs = _clients(cfg, args.profile, "cloudformation", "s3", "ecr", "route53", "ecs")
    opts = Options(
        stack=args.stack, execute=execute, yes=getattr(args, "yes", False),
        allow_data_loss=getattr(args, "allow_data_loss", False), recreate_failed=getattr(args, "recreate_failed", False),
        timeout_minutes=getattr(args, "timeout", 60.0), as_json=args.json,
    )
    console = _console(args.json)
    result = run(Clients(cfn, s3, ecr, route53, ecs), cfg, compiled.templates, opts, console)
    if args.json:
        print(to_json(console, result))
    elif result.outputs:
        print("outputs:")
        for key, value in sorted(result.outputs.items()):
            print(f"  {key:<24} {value}")
    if not execute:
        return 2 if result.pending else 0
    return 0


def _console(as_json: bool):
    """Progress and previews on stdout, or on stderr when stdout carries JSON; questions on the terminal."""
    from enrollcfn.pipeline import Console

    stream = sys.stderr if as_json else sys.stdout
    return Console(report=lambda line: print(line, file=stream, flush=True), confirm=_confirm)


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def cmd_plan(args: argparse.Namespace) -> int:
    """Preview what `deploy` would change, without changing anything.

Compiles and lints locally, then creates change sets (nested stacks included) for the bootstrap
and root stacks, prints each as a tree (root -> nested stack -> resource, with replacement,
changed properties, parameter before/after, access and data-loss markers) and deletes them.
Templates are uploaded under content-hash keys so the change set can read them.
Exit 0: no changes. Exit 2: changes pending. Exit 1: error."""
    return _pipeline(args, execute=False)


def cmd_deploy(args: argparse.Namespace) -> int:
    """Deploy through change sets, safely.

1. compile, validate and lint (no AWS call before these pass)
2. the bootstrap stack NAME-bootstrap (artifact bucket, ECR repository), if it changed
3. upload every template under its content hash (unchanged content is not uploaded again)
4. read-only preflight: the image tag is in ECR, the hosted zone exists
5. one change set on the root with nested stacks; preview; refuse data loss unless
   --allow-data-loss; ask (or --yes); execute and follow every nested stack's events and the
   ECS rollout; --timeout cancels an update
6. stack policies forbid replacing or deleting the database; termination protection on

A failed first creation (ROLLBACK_COMPLETE) needs --recreate-failed; UPDATE_ROLLBACK_FAILED needs
`enrollcfn recover`. A stack busy with another operation is waited for, never overlapped."""
    return _pipeline(args, execute=True)


def _follow_stack(args: argparse.Namespace, cfn, start) -> None:
    from enrollcfn.pipeline import follow

    follow(cfn, args.stack, start, lambda line: print(line, flush=True), args.timeout, cancel_on_timeout=False)


def _cfn(args: argparse.Namespace):
    (cfn,) = _clients(load_config(args.config), args.profile, "cloudformation")
    return cfn


def cmd_recover(args: argparse.Namespace) -> int:
    """Continue a rollback that stopped in UPDATE_ROLLBACK_FAILED, skipping the resources named
with --skip-resource (fix or remove them by hand first), and follow it to the end."""
    from enrollcfn import deploy as cs

    cfn = _cfn(args)

    _follow_stack(args, cfn, lambda: cs.recover(cfn, args.stack, args.skip_resource))
    print(f"{args.stack}: rollback completed; deploy again when ready")
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    """Delete the root stack and its nested stacks (only a stack enrollcfn created).

Refuses while termination protection is on unless --disable-termination-protection. The database
keeps a final snapshot (DeletionPolicy Snapshot) and its deletion protection must be turned off by a
deploy first; the bootstrap stack (repository, artifact bucket) is kept."""
    from enrollcfn import deploy as cs

    if not args.yes:
        if not sys.stdin.isatty():
            raise EnrollcfnError(args.stack, "destroy needs confirmation: pass --yes when not at a terminal")
        if input(f"Type the stack name to delete {args.stack}: ").strip() != args.stack:
            raise EnrollcfnError(args.stack, "confirmation did not match; nothing was deleted")
    cfn = _cfn(args)
    _follow_stack(args, cfn, lambda: cs.delete(cfn, args.stack, args.disable_termination_protection))
    print(f"{args.stack}: deleted")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Compile and lint, package the templates to the bootstrap stack's artifact bucket, then
    publish the root template as a Service Catalog product.

    The portfolio and product are created once; a new provisioning artifact is added only when
    the templates changed (older versions are deprecated, and with --keep N deactivated beyond
    the newest N). Names and principals are checked before anything is created. The launch role
    lives in the NAME-catalog stack (build/catalog.yaml, permissions derived from the product's
    resource types); publish creates or updates it through the same previewed, guarded change
    set as deploy (asking first, or --yes), and makes it the product's launch constraint.
    The NAME-bootstrap stack (artifact bucket) must exist: `enrollcfn deploy` creates it."""
    from enrollcfn import catalog, stacks
    from enrollcfn.compiler import CATALOG
    from enrollcfn.package import package_templates
    from enrollcfn.pipeline import Options, stack_tags, standalone
    from templates.bootstrap import ARTIFACT_BUCKET_NAME
    from templates.catalog import ARTIFACT_PREFIX, LAUNCH_ROLE_ARN

    cfg = load_config(args.config)
    compiled = compile_checked(cfg)
    client = args.client_factory or (lambda service: _clients(cfg, args.profile, service)[0])
    cfn = client("cloudformation")
    boot_name = stacks.bootstrap_stack_name(args.stack)
    bucket = stacks.output(boot_name, stacks.outputs(cfn, boot_name), ARTIFACT_BUCKET_NAME)
    sc = client("servicecatalog")
    owner = catalog.owner_of(args.stack)
    existing = catalog.inspect(sc, args.portfolio, args.product, owner)
    catalog.check_principals(client("iam"), args.principal)
    # Only now, with names and principals checked, anything is created: first the launch role.
    name = stacks.catalog_stack_name(args.stack)
    launch_stack = standalone(cfn, name, compiled.templates[CATALOG], {ARTIFACT_BUCKET_NAME: bucket},
                              stack_tags(cfg, name), Options(stack=args.stack, yes=args.yes), _console(args.json))
    role_arn = stacks.output(name, stacks.output_map(launch_stack), LAUNCH_ROLE_ARN)
    s3 = client("s3")
    package = package_templates(s3, bucket, ARTIFACT_PREFIX, cfg.region, compiled.templates)
    outcome = catalog.publish(
        sc,
        existing,
        catalog.Release.of(package),
        portfolio=args.portfolio,
        product=args.product,
        owner=owner,
        launch_role_arn=role_arn,
        principals=args.principal,
        keep=args.keep,
    )
    changed = bool(outcome.created or outcome.updated)
    if args.json:
        report = {"product": args.product, "portfolio": args.portfolio, "url": package.root.url, "uploaded": package.uploaded, "changed": changed}
        print(json.dumps({**report, **outcome.to_dict()}, indent=2, sort_keys=True))
        return 0
    for status in ("created", "updated", "reused"):
        for e in getattr(outcome, status):
            print(f"  {status:8s} {e['kind']} {e['name']} ({e['id']})")
    if changed:
        print(f"published {args.product} {outcome.version} in portfolio {args.portfolio}")
    else:
        print(f"nothing to publish: {args.product} is already at {outcome.version}; nothing created")
    return 0
