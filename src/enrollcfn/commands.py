"""One function per command: read the parsed arguments, call the module that does the job, print
what it returns. The parser and the error handling are in cli.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from enrollcfn.errors import EnrollcfnError
from enrollcfn.exits import EXIT_OK, EXIT_PENDING

# An unreachable endpoint fails within about 5 s: botocore's standard retry mode makes at most
# MAX_ATTEMPTS tries (the first included) with jittered exponential backoff below 1 s, then 2 s,
# each connect bounded by CONNECT_TIMEOUT. Throttled reads back off further in stacks.calm.
CONNECT_TIMEOUT = 1.5
MAX_ATTEMPTS = 3


def load_config(path: Path | None):
    """The validated config, or ConfigErrors with every problem in it (imported here, so `--help`
    and usage errors do not pay for pydantic)."""
    from enrollcfn.config import load

    return load(path)


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
    build = checked(cfg, cache=not args.no_cache, prices=_prices(args, cfg))
    _warn(build)
    written = write_build(build, out, given=(args.config, args.prices))
    for path in written.files:
        stack = build.stacks.get(path.stem) if path.suffix == ".yaml" else None
        status = "updated" if path in written.changed else "unchanged"
        detail = f"{len(stack.doc.get('Resources', {})):3d} resources  {len(stack.body):6d} bytes" if stack else \
            f"estimate {build.cost.total:.2f} {build.cost.currency}/month"
        print(f"  {path}  {detail}  {status}")
    for path in written.removed:
        print(f"  {path}  removed (no longer built)")
    print(f"built {len(build.stacks)} templates into {written.directory} (lint clean) in {time.perf_counter() - started:.2f}s")
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
    if findings:
        raise LintError("cfn-lint", f"{len(findings)} finding(s) in {count} templates", findings)
    print(f"{count} templates lint clean")
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    """Estimate the monthly cost of the compiled templates, offline, from the region's price data
(the bundled table, or --prices FILE from `enrollcfn prices`) and the usage assumptions (the
seed's unless --usage overrides them). A line without a price says "unpriced"; one warning
line on stderr counts them."""
    from enrollcfn import cost
    from enrollcfn.compiler import compile

    cfg = load_config(args.config)
    build = compile(cfg, cost.load_usage(args.usage), prices=_prices(args, cfg))
    _warn(build)
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
    client = args.client_factory("pricing") if args.client_factory else _pricing_client(args)
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


def cmd_plan(args: argparse.Namespace) -> int:
    """Preview what `deploy` would change, without changing anything.

Compiles and lints locally (or reads --build DIR), then creates change sets (nested stacks
included) for the bootstrap and root stacks, prints each as a tree (root -> nested stack ->
resource, with replacement, changed properties, parameter before/after, access and data-loss
markers) and deletes them. Templates are uploaded under content-hash keys so the change set can
read them. Exit 0: no changes. Exit 2: changes pending. Exit 1: error."""
    return _pipeline(args, execute=False)


def cmd_deploy(args: argparse.Namespace) -> int:
    """Deploy through change sets, safely.

1. compile, validate and lint (or read --build DIR); no AWS call before these pass; then one line
   names the environment, account, region and stack, and the credentials of another account
   (enrollcfn.yaml) or a stack tagged with another environment stop it here (enrollcfn.guard)
2. the bootstrap stack NAME-bootstrap (artifact bucket, ECR repository), if it changed; with
   delivery.enabled the NAME-delivery stack (GitHub OIDC roles) too, and with delivery.release:
   deploy the root's change sets run as delivery.execution_role_name
3. upload every template under its content hash (unchanged content is not uploaded again)
4. read-only preflight: the image tag is in ECR, the hosted zone exists (every problem at once);
   a warning when a production environment's alarms notify no one (monitoring.alarm_email)
5. one change set on the root with nested stacks; preview; refuse data loss unless
   --allow-data-loss; ask (or --yes); execute and follow every nested stack's events and the
   ECS rollout; --timeout cancels an update
6. stack policies forbid replacing or deleting the database; termination protection on

Ctrl-C at the question deletes the change set; Ctrl-C while it runs stops following only
(CloudFormation carries on) and prints how to follow or cancel. A failed first creation
(ROLLBACK_COMPLETE) needs --recreate-failed; UPDATE_ROLLBACK_FAILED needs `enrollcfn recover`.
A stack busy with another operation is waited for, never overlapped."""
    return _pipeline(args, execute=True)


def _pipeline(args: argparse.Namespace, execute: bool, image_digest: str | None = None) -> int:
    from enrollcfn import pipeline

    from enrollcfn.templates import CATALOG

    cfg, build = _build_for(args, skip_lint=(CATALOG,))  # deploy never sends the catalog stack
    client = _clients(args, cfg)
    _before_change(args, cfg, client)  # where it goes; refuses another account or environment before the bootstrap stack
    clients = pipeline.Clients(*(client(s) for s in ("cloudformation", "s3", "ecr", "route53", "ecs", "iam")))
    opts = pipeline.Options(
        stack=args.stack, execute=execute, yes=getattr(args, "yes", False),
        allow_data_loss=getattr(args, "allow_data_loss", False), recreate_failed=getattr(args, "recreate_failed", False),
        timeout_minutes=getattr(args, "timeout", 60.0), as_json=args.json,
        image_tag=getattr(args, "image_tag", None), image_digest=image_digest,
    )
    console = _console(args.json)
    run = pipeline.Run(clients, opts, console)
    unprotected = pipeline.first_create(run, cfg) if execute and not getattr(args, "build", None) else None
    if unprotected is not None:
        # Deletion protection on during a first create would keep a failed create from rolling back
        # (CloudFormation cannot delete a protected database or load balancer): create without it,
        # then turn it on in an update once the stack is stable.
        console.report(f"{args.stack}: first create with deletion protection off (database, load balancer); on once it is stable")
        pipeline.run(run, unprotected, _build_for(args, skip_lint=(CATALOG,), cfg=unprotected)[1])
        run = pipeline.Run(clients, dataclasses.replace(opts, yes=True), console)  # the follow-up changes only the protection
        console.report(f"{args.stack}: turning deletion protection on (database, load balancer)")
    result = pipeline.run(run, cfg, build)
    if args.json:
        print(result.to_json(console))
    elif result.outputs:
        print("outputs:")
        for key, value in sorted(result.outputs.items()):
            print(f"  {key:<24} {value}")
    return EXIT_PENDING if not execute and result.pending else EXIT_OK


def cmd_recover(args: argparse.Namespace) -> int:
    """Continue a rollback that stopped in UPDATE_ROLLBACK_FAILED, skipping the resources named
with --skip-resource (fix or remove them by hand first), and follow it to the end."""
    from enrollcfn import pipeline

    pipeline.recover(_stack_run(args), args.skip_resource)
    print(f"{args.stack}: rollback completed; deploy again when ready")
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    """Delete the root stack with its nested stacks, then the NAME-bootstrap stack (only stacks
enrollcfn created), and list what stays on purpose, each with the command that removes it.

Steps: compile the config (no AWS call when it is bad); read both stacks; refuse up front, one line
per key, while database.deletion_protection or load_balancer.deletion_protection is on in the
config or in the deployed stacks (set it to false and deploy first), or when a deployed
DeletionPolicy differs from the config's; refuse while termination protection is on unless
--disable-termination-protection; ask for the stack name (or --yes); delete and follow each stack.
Kept: every resource the templates give DeletionPolicy Retain (the artifact and access-log
buckets, the ECR repository with its images, the application secret), the log groups RDS wrote,
with database.final_snapshot the database's final snapshot, and a NAME-catalog stack if publish
made one."""
    from enrollcfn import compiler, pipeline, teardown

    cfg = load_config(args.config)
    build = compiler.compile(cfg)
    deploy = f"enrollcfn deploy --stack {args.stack}" + (f" --config {args.config}" if args.config else "")
    _before_change(args, cfg, _clients(args, cfg), require="any")  # a stack that is not there is said first
    teardown.refuse([], build, deploy)  # protection the config itself turns on: before any change
    client = _clients(args, cfg)
    run = pipeline.Run(pipeline.Clients(client("cloudformation"), rds=client("rds")), pipeline.Options(stack=args.stack, timeout_minutes=args.timeout),
                       _console(False))
    done = teardown.destroy(run, build, deploy, args.disable_termination_protection, confirm=lambda: _confirm_destroy(args))
    for line in teardown.render(done):
        print(line)
    return 0


def _confirm_destroy(args: argparse.Namespace, name: str | None = None, what: str = "stack") -> None:
    """The name (default: --stack) typed back, unless --yes; raises when it is not."""
    name = name or args.stack
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise EnrollcfnError(name, "destroy needs confirmation: pass --yes when not at a terminal")
    if input(f"Type the {what} name to delete {name}: ").strip() != name:
        raise EnrollcfnError(name, "confirmation did not match; nothing was deleted")


def cmd_publish(args: argparse.Namespace) -> int:
    """Compile and lint (or read --build DIR), package the templates to the bootstrap stack's
artifact bucket, then publish the root template as a Service Catalog product.

The portfolio and product are created once; a new provisioning artifact is added only when the
templates changed (older versions are deprecated, and with --keep N deactivated beyond the
newest N). Names and principals are checked before anything is created. The launch role lives
in the NAME-catalog stack (build/catalog.yaml, permissions derived from the product's resource
types); publish creates or updates it through the same previewed, guarded change set as deploy
(asking first, or --yes), and makes it the product's launch constraint by its name
(LocalRoleName), so each account that launches uses its own role of that name. The NAME-bootstrap
stack (artifact bucket) must exist: `enrollcfn deploy` creates it.

Sharing: --share-account and --share-ou share the portfolio through AWS Organizations (accepted
automatically; the caller is the management account or a delegated administrator, and Service
Catalog's Organizations access is enabled). Existing shares are kept, missing ones created and
followed to the end; --unshare-account and --unshare-ou remove shares, nothing else does.
--principal-pattern associates IAM_PATTERN principals (no account), shared with OUs so the same
role name may launch in each of their accounts. Every account that launches needs its own
NAME-bootstrap and NAME-catalog stacks, and reads the templates from this account's artifact
bucket, which lets in the organization the config names (catalog.organization_id; required to
share). Bad values stop the command before any AWS call."""
    from enrollcfn import sharing

    shares = sharing.parse(args.share_account, args.share_ou, args.unshare_account, args.unshare_ou, args.principal_pattern)
    from enrollcfn.publishing import Request, publish

    cfg, build = _build_for(args)
    sharing.check_readers(cfg.catalog.organization_id, shares)  # offline, before the first AWS call
    _before_change(args, cfg, _clients(args, cfg))
    req = Request(args.stack, args.portfolio, args.product, tuple(args.principal), args.keep, args.yes, args.json, shares)
    done = publish(_clients(args, cfg), cfg, build, req, _console(args.json))
    if args.json:
        print(json.dumps(done.to_dict(req), indent=2, sort_keys=True))
        return 0
    for status in ("created", "updated", "removed", "reused"):
        for e in getattr(done.outcome, status):
            print(f"  {status:8s} {e['kind']} {e['name']} ({e['id']})")
    if done.changed:
        print(f"published {args.product} {done.outcome.version} in portfolio {args.portfolio}")
    else:
        print(f"nothing to publish: {args.product} is already at {done.outcome.version}; nothing created")
    return 0


def _build_for(args: argparse.Namespace, skip_lint: tuple[str, ...] = (), cfg=None):
    """The config (read now unless given) and its Build: read from --build DIR, or compiled and linted now."""
    from enrollcfn.compiler import checked
    from enrollcfn.output import read_build

    cfg = cfg or load_config(args.config)
    if getattr(args, "build", None):
        return cfg, read_build(args.build, cfg.region, delivery=cfg.delivery.enabled)
    build = checked(cfg, skip=skip_lint, prices=_prices(args, cfg))
    _warn(build)
    return cfg, build


def _prices(args: argparse.Namespace, cfg):
    """The price table of --prices FILE (checked against the config's region), or None: the bundled one."""
    if getattr(args, "prices", None) is None:
        return None
    from enrollcfn import price_table

    return price_table.read(args.prices, cfg.region)


def _warn(build) -> None:
    """The build's warnings, one line each on stderr."""
    for key, message in build.warnings:
        print(f"warning: {key}: {message}", file=sys.stderr, flush=True)


def _pricing_client(args: argparse.Namespace):
    """A Price List Query API client at its us-east-1 endpoint, bounded like every other client."""
    import boto3
    from botocore.config import Config as BotoConfig

    settings = BotoConfig(connect_timeout=CONNECT_TIMEOUT, read_timeout=60, retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
    return boto3.Session(profile_name=args.profile).client("pricing", region_name="us-east-1", config=settings)


def _stack_run(args: argparse.Namespace):
    from enrollcfn import pipeline

    cfg = load_config(args.config)
    _before_change(args, cfg, _clients(args, cfg), require="root")
    opts = pipeline.Options(stack=args.stack, timeout_minutes=args.timeout)
    return pipeline.Run(pipeline.Clients(_clients(args, cfg)("cloudformation")), opts, _console(False))


def _before_change(args: argparse.Namespace, cfg, client, require: str | None = None) -> None:
    """The line saying which environment, account, region and stack is about to change; refuses
    another account or a stack of another environment (enrollcfn.guard)."""
    from enrollcfn import guard

    guard.before_change(args, cfg, client, require)


def _clients(args: argparse.Namespace, cfg):
    """`client(service)`: boto3 clients in the config's region with bounded connect time and a
    bounded number of tries in the standard retry mode (throttling included), or the test's factory."""
    from enrollcfn.commands_env import check_region

    check_region(args, cfg)  # enrollcfn.yaml and the config name the same region
    if args.client_factory is not None:
        return args.client_factory
    import boto3
    from botocore.config import Config as BotoConfig

    session = boto3.Session(profile_name=args.profile, region_name=cfg.region)
    settings = BotoConfig(connect_timeout=CONNECT_TIMEOUT, read_timeout=60, retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
    return lambda service: session.client(service, config=settings)


def _console(as_json: bool):
    """Progress and previews on stdout, or on stderr when stdout carries JSON; questions on the terminal."""
    from enrollcfn.pipeline import Console

    stream = sys.stderr if as_json else sys.stdout
    return Console(report=lambda line: print(line, file=stream, flush=True), confirm=_confirm)


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")

