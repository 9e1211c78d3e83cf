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

from enrollcfn import __version__, cost
from enrollcfn.config import Config, load, validate
from enrollcfn.errors import ConfigError, EnrollcfnError, LintError

EPILOG = """\
examples:
  enrollcfn build                              compile config defaults into build/ and lint them
  enrollcfn build --config config/dev.yaml --out /tmp/dev
  enrollcfn lint build                         cfn-lint every template in build/
  enrollcfn cost --json                        monthly estimate of the default config, as JSON

Region and credentials follow boto3 (--region/--profile where offered, AWS_* variables);
AWS_ENDPOINT_URL points every client at a local emulator.
"""


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
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

    p = sub.add_parser("cost", help="offline monthly estimate, line by line", description=_doc(cmd_cost))
    _config_arg(p)
    p.add_argument("--usage", type=Path, default=None, metavar="FILE", help="YAML overrides of the usage assumptions (data transfer, log volume, ...)")
    p.add_argument("--json", action="store_true", help="print the lines as JSON")
    p.set_defaults(func=cmd_cost)
    return parser


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
    from enrollcfn.compiler import BUILD_DIR, compile_all, write

    started = time.perf_counter()
    cfg = load_config(args.config)
    compiled = compile_all(cfg)
    with tempfile.TemporaryDirectory(prefix="enrollcfn-") as staging:
        write(compiled.templates, Path(staging))
        findings = _linter(cfg).lint_dir(Path(staging))
    if findings:
        for f in findings:
            print(f"  {f}", file=sys.stderr)
        raise LintError("cfn-lint", f"{len(findings)} finding(s); fix them or add a reasoned ignore to .cfnlintrc")
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


def cmd_cost(args: argparse.Namespace) -> int:
    """Estimate the monthly cost of the compiled templates, offline, from the region's price data
    and the usage assumptions (the seed's unless --usage overrides them)."""
    from enrollcfn.compiler import compile_all

    cfg = load_config(args.config)
    estimate = cost.of_compiled(compile_all(cfg).objects, cfg.region, cost.load_usage(args.usage))
    print(json.dumps(estimate.to_dict(), indent=2) if args.json else cost.render(estimate))
    return 0


def _linter(cfg: Config):
    from enrollcfn.compiler import LINT_CONFIG
    from enrollcfn.lint import Linter

    return Linter([cfg.region], LINT_CONFIG)
