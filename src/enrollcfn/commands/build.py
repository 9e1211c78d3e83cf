"""Commands that need no AWS account: build, lint, cost; and prices, which reads the Price List API."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from enrollcfn.commands.common import (command, config_arg, json_arg, load_config, prices, prices_arg,
                                       profile_arg, warn, emit, clients)
from enrollcfn.errors import EnrollcfnError


def register(sub) -> None:
    p = command(sub, "build", cmd_build, "compile + lint (+ quota checks) into a directory")
    _env_arg(p)
    config_arg(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output directory (default: build/): new, empty, or a previous build's")
    prices_arg(p)
    _cache_arg(p)
    json_arg(p, "print what was written as JSON")

    p = command(sub, "lint", cmd_lint, "cfn-lint every template in a directory, in one process")
    p.add_argument("dir", nargs="?", type=Path, default=None, metavar="DIR", help="directory of templates (default: build/)")
    config_arg(p)
    _cache_arg(p)
    json_arg(p, "print the findings as JSON (exit 1 when there are any)")

    p = command(sub, "cost", cmd_cost, "offline monthly estimate, line by line")
    _env_arg(p)
    config_arg(p)
    p.add_argument("--usage", type=Path, default=None, metavar="FILE", help="YAML overrides of the usage assumptions (data transfer, log volume, ...)")
    prices_arg(p)
    json_arg(p, "print the lines as JSON")

    p = command(sub, "prices", cmd_prices, "read a region's current prices from the AWS Price List API into a price file")
    p.add_argument("--region", required=True, metavar="REGION", help="the region to price (the API itself is called in us-east-1)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE", help="write the price file here (default: print it)")
    profile_arg(p)


def _env_arg(p: argparse.ArgumentParser) -> None:
    """An optional ENV: its config from enrollcfn.yaml (else --config, else the defaults)."""
    p.add_argument("env_name", nargs="?", default=None, metavar="ENV", help="an environment of enrollcfn.yaml: its config "
                   "(default: --config, else the defaults)")
    p.set_defaults(env_optional=True, stack=None, profile=None)


def _cache_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-cache", action="store_true", help="lint every template again, ignoring cached results (also ENROLLCFN_NO_CACHE=1)")


def cmd_build(args: argparse.Namespace) -> int:
    """Compile the config into CloudFormation YAML, lint it with cfn-lint, and write it.

Nothing is written unless every template compiles, fits CloudFormation's quotas and lints clean
(apart from the reasoned ignores in .cfnlintrc). DIR must be new, empty, or a previous build
(it holds a MANIFEST); only files the build wrote are ever replaced or removed, and the files
are swapped in only once all of them are written."""
    from enrollcfn import lintearly
    from enrollcfn.compiler import BUILD_DIR, LINT_CONFIG, checked
    from enrollcfn.output import check_target, write_build

    started = time.perf_counter()
    out = args.out or BUILD_DIR
    check_target(out)  # refuse a bad --out before spending time on the compile
    lintearly.start(LINT_CONFIG)  # cfn-lint loads on another core while the config is read and compiled
    cfg = load_config(args.config)
    build = checked(cfg, cache=not args.no_cache, prices=prices(args, cfg))
    warn(build)
    written = write_build(build, out, given=(args.config, args.prices))
    files = []
    for path in written.files:
        stack = build.stacks.get(path.stem) if path.suffix == ".yaml" else None
        entry = {"path": str(path), "status": "updated" if path in written.changed else "unchanged"}
        if stack:
            entry.update(resources=len(stack.doc.get("Resources", {})), bytes=len(stack.body))
        files.append(entry)
    seconds = time.perf_counter() - started
    lines = [f"  {f['path']}  " + (f"{f['resources']:3d} resources  {f['bytes']:6d} bytes" if "resources" in f else
                                   f"estimate {build.cost.total:.2f} {build.cost.currency}/month") + f"  {f['status']}" for f in files]
    lines += [f"  {path}  removed (no longer built)" for path in written.removed]
    lines.append(f"built {len(build.stacks)} templates into {written.directory} (lint clean) in {seconds:.2f}s")
    emit(args, {"directory": str(written.directory), "files": files, "removed": [str(p) for p in written.removed],
                "monthly_estimate": {"total": build.cost.total, "currency": build.cost.currency}, "seconds": round(seconds, 2)}, lines)
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    """Lint every template in a directory with cfn-lint, honouring .cfnlintrc; unchanged
templates are answered from the cache (--no-cache lints them all again)."""
    from enrollcfn.compiler import BUILD_DIR, LINT_CONFIG
    from enrollcfn.errors import LintError
    from enrollcfn.lint import lint_dir

    directory = args.dir or BUILD_DIR
    if not directory.is_dir():
        raise EnrollcfnError(str(directory), "is not a directory of templates")
    cfg = load_config(args.config)
    findings = lint_dir(directory, [cfg.region], LINT_CONFIG, cache=not args.no_cache)
    count = len(list(directory.glob("*.yaml")))
    if findings and args.json:
        emit(args, {"templates": count, "findings": [str(f) for f in findings]}, "")
        return 1
    if findings:
        raise LintError("cfn-lint", f"{len(findings)} finding(s) in {count} templates", findings)
    emit(args, {"templates": count, "findings": []}, f"{count} templates lint clean")
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    """Estimate the monthly cost of the compiled templates, offline, from the region's price data
(the bundled table, or --prices FILE from `enrollcfn prices`) and the usage assumptions (the
seed's unless --usage overrides them). A line without a price says "unpriced"; one warning
line on stderr counts them."""
    from enrollcfn import cost
    from enrollcfn.compiler import compile

    cfg = load_config(args.config)
    build = compile(cfg, cost.load_usage(args.usage), prices=prices(args, cfg))
    warn(build)
    print(json.dumps(build.cost.to_dict(), indent=2) if args.json else cost.render(build.cost))
    return 0


def cmd_prices(args: argparse.Namespace) -> int:
    """Read the current prices of one region from the AWS Price List Query API into a price file.

Steps: one paginated GetProducts query per service (Fargate, load balancer, NAT, VPC, data
transfer, ECR, CloudWatch, KMS, Route 53, Secrets Manager, Lambda, RDS storage and every MySQL
instance class), each filtered by the region; each figure keeps the product it came from and
the date its price took effect. The Query API answers only in us-east-1 (and eu-central-1,
ap-south-1), so it is called in us-east-1 whatever --region is. The file has the format of the
bundled ones (src/enrollcfn/data/prices/); `enrollcfn build --prices FILE` and `enrollcfn cost
--prices FILE` use it. A figure the API does not answer is left out (one warning line names
it) and its cost lines say "unpriced". Needs pricing:GetProducts; changes nothing."""
    import datetime

    from enrollcfn import pricelist
    from enrollcfn.config.regions import known_regions
    from enrollcfn.output import check_file, write_file

    if args.region not in known_regions():
        raise EnrollcfnError("--region", f"{args.region[:40]!r} is not a region the stacks can use (known: {', '.join(known_regions())})")
    if args.out is not None:
        check_file(args.out, "--out", "prices")  # before any AWS call
    client = clients(args, region="us-east-1")("pricing")
    print(f"reading {args.region} prices from the AWS Price List API (us-east-1)", file=sys.stderr, flush=True)
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    fetched = pricelist.fetch(client, args.region, today, progress=lambda line: print(line, file=sys.stderr, flush=True))
    text = fetched.table.to_yaml(f"Written by `enrollcfn prices --region {args.region}` on {today}: prices for `enrollcfn cost`.")
    if fetched.missing:
        listed = "; ".join(f"{k}: {why}" for k, why in sorted(fetched.missing.items()))
        print(f"warning: prices: {len(fetched.missing)} figure(s) not found for {args.region}, their cost lines stay unpriced ({listed})", file=sys.stderr)
    if args.out is None:
        print(text, end="")
        return 0
    write_file(args.out, text, "--out", "prices")
    count = len(fetched.table.prices) + sum(len(rows) for rows in fetched.table.tables.values())
    print(f"wrote {count} prices for {args.region} to {args.out}; use them with --prices {args.out}")
    return 0
