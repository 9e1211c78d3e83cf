"""`publish`: the product in AWS Service Catalog, optionally shared through AWS Organizations."""

from __future__ import annotations

import argparse

from enrollcfn.commands.common import before_change, build_for, clients, command, console, emit, positive, stack_args, yes_arg


def register(sub) -> None:
    p = command(sub, "publish", cmd_publish, "package and publish the product to Service Catalog")
    stack_args(p, from_build=True, json_=True)
    p.add_argument("--portfolio", required=True, metavar="NAME", help="portfolio display name (created once, found by name afterwards)")
    p.add_argument("--product", required=True, metavar="NAME", help="product name (created once, found by name afterwards)")
    p.add_argument("--principal", action="append", default=[], metavar="ARN", help="IAM role, group or user ARN allowed to provision (repeatable)")
    p.add_argument("--keep", type=positive, default=None, metavar="N", help="deactivate versions older than the newest N")
    yes_arg(p, "create or update the NAME-catalog launch-role stack without asking")
    g = p.add_argument_group("sharing the portfolio through AWS Organizations (from the management account or a delegated admin)")
    g.add_argument("--share-account", action="append", default=[], metavar="ID",
                   help="share with this account of the organization, 12 digits (repeatable; accepted automatically)")
    g.add_argument("--share-ou", action="append", default=[], metavar="OU",
                   help="share with every account of this organizational unit, ou-... (repeatable; principal patterns are shared too)")
    g.add_argument("--principal-pattern", action="append", default=[], metavar="ARN",
                   help="IAM_PATTERN principal without an account, e.g. arn:aws:iam:::role/Developers (wildcards * ?; at most 10)")
    g.add_argument("--unshare-account", action="append", default=[], metavar="ID", help="stop sharing with this account (repeatable)")
    g.add_argument("--unshare-ou", action="append", default=[], metavar="OU", help="stop sharing with this organizational unit (repeatable)")


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
    from enrollcfn.publishing import Request, publish

    shares = sharing.parse(args.share_account, args.share_ou, args.unshare_account, args.unshare_ou, args.principal_pattern)
    cfg, build = build_for(args)
    sharing.check_readers(cfg.catalog.organization_id, shares)  # offline, before the first AWS call
    client = clients(args, cfg)
    before_change(args, cfg, client)
    req = Request(args.stack, args.portfolio, args.product, tuple(args.principal), args.keep, args.yes, args.json, shares)
    done = publish(client, cfg, build, req, console(args), sleep=args.sleep)
    lines = [f"  {status:8s} {e['kind']} {e['name']} ({e['id']})"
             for status in ("created", "updated", "removed", "reused") for e in getattr(done.outcome, status)]
    lines.append(f"published {args.product} {done.outcome.version} in portfolio {args.portfolio}" if done.changed else
                 f"nothing to publish: {args.product} is already at {done.outcome.version}; nothing created")
    emit(args, done.to_dict(req), lines)
    return 0
