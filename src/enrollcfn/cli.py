"""The command line: the only place that parses arguments, creates AWS sessions, prints or exits.

Exit codes: 0 success, 1 error (one line `error: <key>: <message>` per problem on stderr, never a
traceback for bad input), 2 `plan` found changes pending.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from enrollcfn import __version__
from enrollcfn.config import Config, load, validate
from enrollcfn.errors import ConfigError, EnrollcfnError, LintError

EPILOG = """\
examples:
  enrollcfn build                              compile config defaults into build/ and lint them
  enrollcfn build --config config/dev.yaml --out /tmp/dev
  enrollcfn lint build                         cfn-lint every template in build/
  enrollcfn publish --stack api --portfolio Platform --product enrollment-api \
      --principal arn:aws:iam::123456789012:role/Developers

Region and credentials follow boto3 (--region/--profile where offered, AWS_* variables);
AWS_ENDPOINT_URL points every client at a local emulator.
"""


def main(argv: list[str] | None = None, client_factory=None) -> int:
    """Run one command; return its exit code.

    `client_factory(service_name, region_name)` makes the AWS clients commands use; by default
    a boto3 session honouring --profile/--region (tests pass fakes)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    args.client_factory = client_factory or _boto_clients(args)
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
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("lint", help="cfn-lint every template in a directory, in one process", description=_doc(cmd_lint))
    p.add_argument("dir", nargs="?", type=Path, default=None, metavar="DIR", help="directory of templates (default: build/)")
    _config_arg(p)
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("publish", help="package and publish the product to Service Catalog", description=_doc(cmd_publish))
    p.add_argument("--stack", required=True, metavar="NAME", help="root stack name: NAME-bootstrap holds the artifact bucket, NAME-catalog the launch role")
    p.add_argument("--portfolio", required=True, metavar="NAME", help="portfolio display name (created once, found by name afterwards)")
    p.add_argument("--product", required=True, metavar="NAME", help="product name (created once, found by name afterwards)")
    _config_arg(p)
    p.add_argument("--principal", action="append", default=[], metavar="ARN", help="IAM role, group or user ARN allowed to provision (repeatable)")
    p.add_argument("--keep", type=_positive, default=None, metavar="N", help="deactivate versions older than the newest N")
    p.add_argument("--json", action="store_true", help="print what was created, reused and updated as JSON")
    _aws_args(p)
    p.set_defaults(func=cmd_publish)
    return parser


def _aws_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", default=None, help="AWS region (default: the config's region)")
    p.add_argument("--profile", default=None, help="AWS named profile")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _boto_clients(args: argparse.Namespace):
    """A client factory over one boto3 session per region, honouring --profile and --region."""
    sessions: dict = {}

    def make(service: str, region: str):
        import boto3

        region = getattr(args, "region", None) or region
        if region not in sessions:
            sessions[region] = boto3.Session(profile_name=getattr(args, "profile", None), region_name=region)
        return sessions[region].client(service)

    return make


def _doc(func) -> str:
    return (func.__doc__ or "").strip()


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
    from enrollcfn.compiler import BUILD_DIR, write

    started = time.perf_counter()
    cfg = load_config(args.config)
    compiled = _compile_and_lint(cfg)
    out = args.out or BUILD_DIR
    changed = set(write(compiled.templates, out))
    for name, text in compiled.templates.items():
        path = out / f"{name}.yaml"
        status = "updated" if path in changed else "unchanged"
        resources = len(compiled.objects[name].resources)
        print(f"  {path}  {resources:3d} resources  {len(text.encode()):6d} bytes  {status}")
    elapsed = time.perf_counter() - started
    print(f"built {len(compiled.templates)} templates into {out} (lint clean) in {elapsed:.2f}s")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    """Lint every template in a directory with cfn-lint, in one process, honouring .cfnlintrc."""
    from enrollcfn.compiler import BUILD_DIR

    directory = args.dir or BUILD_DIR
    if not directory.is_dir():
        raise EnrollcfnError(str(directory), "is not a directory of templates")
    cfg = load_config(args.config)
    findings = _linter(cfg).lint_dir(directory)
    for f in findings:
        print(f)
    count = len(list(directory.glob("*.yaml")))
    if findings:
        raise LintError("cfn-lint", f"{len(findings)} finding(s) in {count} templates")
    print(f"{count} templates lint clean")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Compile and lint, package the templates to the bootstrap stack's artifact bucket, then
    publish the root template as a Service Catalog product.

    The portfolio and product are created once; a new provisioning artifact is added only when
    the templates changed (older versions are deprecated, and with --keep N deactivated beyond
    the newest N). The launch constraint uses the NAME-catalog stack's launch role. Names and
    principals are checked before anything is created."""
    from botocore.exceptions import BotoCoreError, ClientError

    from enrollcfn import catalog, stacks
    from enrollcfn.package import package_templates
    from enrollcfn.templates.bootstrap import ARTIFACT_BUCKET_NAME
    from enrollcfn.templates.catalog import ARTIFACT_PREFIX, LAUNCH_ROLE_ARN

    cfg = load_config(args.config)
    compiled = _compile_and_lint(cfg)
    client = lambda service: args.client_factory(service, cfg.region)  # noqa: E731
    try:
        cfn = client("cloudformation")
        bucket = _stack_output(cfn, stacks.bootstrap_stack_name(args.stack), ARTIFACT_BUCKET_NAME)
        role_arn = _stack_output(cfn, stacks.catalog_stack_name(args.stack), LAUNCH_ROLE_ARN)
        sc = client("servicecatalog")
        owner = catalog.owner_of(args.stack)
        existing = catalog.inspect(sc, args.portfolio, args.product, owner)
        catalog.check_principals(client("iam"), args.principal)
        s3 = client("s3")
        package = package_templates(s3, bucket, ARTIFACT_PREFIX, s3.meta.region_name, compiled.templates)
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
    except (ClientError, BotoCoreError) as exc:
        raise EnrollcfnError("aws", str(exc)) from None
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


def _stack_output(cfn, stack_name: str, key: str) -> str:
    from enrollcfn import stacks

    value = stacks.outputs(cfn, stack_name).get(key)
    if value is None:
        raise EnrollcfnError(stack_name, f"stack has no output {key}; deploy the current template (build/) first")
    return value


def _compile_and_lint(cfg: Config):
    """Compile and lint in a staging directory; raise LintError (findings on stderr) unless clean."""
    from enrollcfn.compiler import compile_all, write

    compiled = compile_all(cfg)
    with tempfile.TemporaryDirectory(prefix="enrollcfn-") as staging:
        write(compiled.templates, Path(staging))
        findings = _linter(cfg).lint_dir(Path(staging))
    if findings:
        for f in findings:
            print(f"  {f}", file=sys.stderr)
        raise LintError("cfn-lint", f"{len(findings)} finding(s); fix them or add a reasoned ignore to .cfnlintrc")
    return compiled


def _linter(cfg: Config):
    from enrollcfn.compiler import LINT_CONFIG
    from enrollcfn.lint import Linter

    return Linter([cfg.region], LINT_CONFIG)
