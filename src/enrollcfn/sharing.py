"""Sharing the portfolio through AWS Organizations, over an injected Service Catalog client.

`publish --share-account ID` and `--share-ou ou-...` share the portfolio with an account of the
organization or an organizational unit (CreatePortfolioShare with an OrganizationNode). Only the
management account or a delegated administrator may make these shares, with Service Catalog's
Organizations access enabled (CreatePortfolioShare), and they need no acceptance: "You do not need
to import a portfolio if the portfolio was shared through AWS Organizations" (admin guide,
catalogs_portfolios_sharing_how-to-share); DescribePortfolioShares reports such shares Accepted.
A share by AccountId (account to account) would need AcceptPortfolioShare in the recipient and
fails Security Hub's ServiceCatalog.1 (portfolios shared within the organization only), so publish
never makes one. TagOptions are not shared (ShareTagOptions left out: the portfolio has none).

Shares are listed first (DescribePortfolioShares, every page: the one listing that also says
whether a share carries principals, which ListOrganizationPortfolioAccess does not) and only
missing ones are created, so a second run writes nothing. Organization shares are asynchronous:
each returns a token whose status is polled to the end, with progress. `--unshare-account` and
`--unshare-ou` delete shares; nothing is ever unshared implicitly. `parse` checks every flag value
before any AWS client exists.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from enrollcfn.catalog import Outcome, call, entry
from enrollcfn.errors import CatalogError, ConfigError, EnrollcfnError, Problems

# servicecatalog AccountId and organizations AccountId: ^\d{12}$ (botocore's service models).
ACCOUNT_ID = re.compile(r"[0-9]{12}")
# organizations OrganizationalUnitId: ^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$ (botocore's service model).
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
# IAM_PATTERN: an IAM ARN without an account, arn:partition:iam:::resource-type/resource-id, with
# `*` and `?` allowed in the resource id (AssociatePrincipalWithPortfolio). Path segments take
# IAM's path characters (u0021-u007E), names IAM's [\w+=,.@-] plus the two wildcards.
PATTERN = re.compile(r"arn:aws[a-z-]*:iam:::(role|user|group)/((?:[\x21-\x2e\x30-\x7e]+/)*)([\w+=,.@*?-]+)")
NAME_CHARS = {"role": 64, "user": 64, "group": 128}  # IAM roleNameType, userNameType, groupNameType
MAX_PATTERNS = 10  # "a maximum of 10 Principals with a portfolio using PrincipalType as IAM_PATTERN"
# The statuses DescribePortfolioShareStatus ends in (ShareStatus in the service model).
DONE, FAILED = "COMPLETED", ("COMPLETED_WITH_ERRORS", "ERROR")
ACCESS_HINT = ("run `aws servicecatalog enable-aws-organizations-access` in the management account; shares to accounts and "
               "OUs are made from the management account or a Service Catalog delegated administrator")


@dataclass(frozen=True)
class Node:
    """An organization node the portfolio is shared with: an account or an OU."""

    type: str  # OrganizationNode Type: ACCOUNT or ORGANIZATIONAL_UNIT
    value: str

    @property
    def listed_as(self) -> str:
        """The DescribePortfolioShares Type under which this node's share is listed."""
        return "ORGANIZATION_MEMBER_ACCOUNT" if self.type == "ACCOUNT" else self.type

    @property
    def kind(self) -> str:
        return "account share" if self.type == "ACCOUNT" else "OU share"

    @property
    def shares_principals(self) -> bool:
        # SharePrincipals "is only supported for ... ORGANIZATION or ORGANIZATIONAL_UNIT".
        return self.type == "ORGANIZATIONAL_UNIT"


@dataclass(frozen=True)
class Sharing:
    """What to share with and unshare from, and the IAM_PATTERN principals; all checked by parse."""

    share: tuple[Node, ...] = ()
    unshare: tuple[Node, ...] = ()
    patterns: tuple[str, ...] = ()

    @property
    def wanted(self) -> bool:
        return bool(self.share or self.unshare)


def parse(accounts=(), ous=(), unshare_accounts=(), unshare_ous=(), patterns=()) -> Sharing:
    """The flags' values as a Sharing; raise Problems with one line per bad value (exit 1)."""
    problems: list[EnrollcfnError] = []

    def nodes(flag: str, values, kind: str, pattern: re.Pattern, allowed: str) -> tuple[Node, ...]:
        bad = [v for v in values if not pattern.fullmatch(v)]
        problems.extend(EnrollcfnError(flag, f"{v[:80]!r} is not {allowed}") for v in bad)
        return tuple(Node(kind, v) for v in dict.fromkeys(values) if v not in bad)

    account = "an AWS account id (12 digits)"
    ou = "an organizational unit id (ou-<4-32 lower-case letters or digits>-<8-32 of them>, as Organizations shows it)"
    share = nodes("--share-account", accounts, "ACCOUNT", ACCOUNT_ID, account) + nodes("--share-ou", ous, "ORGANIZATIONAL_UNIT", OU_ID, ou)
    unshare = nodes("--unshare-account", unshare_accounts, "ACCOUNT", ACCOUNT_ID, account)
    unshare += nodes("--unshare-ou", unshare_ous, "ORGANIZATIONAL_UNIT", OU_ID, ou)
    for node in unshare:
        if node in share:
            flag = "--unshare-account" if node.type == "ACCOUNT" else "--unshare-ou"
            problems.append(EnrollcfnError(flag, f"{node.value} is also to be shared; give it to one of --share-* and --unshare-* only"))
    unique = tuple(dict.fromkeys(patterns))
    problems += [EnrollcfnError("--principal-pattern", why) for why in map(_pattern_problem, unique) if why]
    if len(unique) > MAX_PATTERNS:
        problems.append(EnrollcfnError("--principal-pattern", f"{len(unique)} given; a portfolio takes at most {MAX_PATTERNS} IAM_PATTERN principals"))
    if problems:
        raise Problems("share flags", problems)
    return Sharing(share, unshare, unique)


def _pattern_problem(arn: str) -> str | None:
    """Why `arn` is no IAM_PATTERN principal, or None."""
    match = PATTERN.fullmatch(arn)
    if not match:
        if re.match(r"arn:aws[a-z-]*:iam::[0-9]{12}:", arn):
            return f"{arn[:80]!r} names an account; a pattern has none (arn:aws:iam:::role/NAME); use --principal for this account's ARNs"
        return (f"{arn[:80]!r} is not an IAM ARN pattern: arn:aws:iam:::role/NAME, arn:aws:iam:::role/PATH/NAME (or user/, group/); "
                "a name takes letters, digits, +=,.@_- and the wildcards * and ?")
    kind, path, name = match.groups()
    if len(name) > NAME_CHARS[kind]:
        return f"{arn[:80]!r}: an IAM {kind} name is at most {NAME_CHARS[kind]} characters, this one has {len(name)}"
    # `*` also matches `/` (AssociatePrincipalWithPortfolio), so role/*/* is role/*: every role.
    if not (path + name).strip("*?/"):
        return (f"{arn[:80]!r} matches every {kind} in every account it is shared with; name the {kind} or its path "
                "(wildcards may complete them: Developers*, aws-reserved/sso.amazonaws.com/*)")
    return None


def check_readers(organization_id: str, sharing: Sharing) -> None:
    """Raise ConfigError when shares are asked for but no other account may read the templates:
    CloudFormation in a consumer account fetches every nested template from this account's
    artifact bucket, which lets in only the organization that catalog.organization_id names."""
    if sharing.share and not organization_id:
        raise ConfigError("catalog.organization_id", "is empty, so no other account's launch role may read the packaged templates and "
                          "every launch there would fail; set it to the organization's id (aws organizations describe-organization "
                          "--query Organization.Id) and run `enrollcfn deploy` before sharing")


def check_access(sc) -> None:
    """Raise CatalogError unless Service Catalog's Organizations access is ENABLED for this
    caller. Reads only, so a publish that cannot share stops before anything is created."""
    try:
        status = call(sc, "get_aws_organizations_access_status").get("AccessStatus", "DISABLED")
    except CatalogError as exc:
        raise CatalogError(exc.key, f"{exc.message}; {ACCESS_HINT}") from None
    if status != "ENABLED":
        raise CatalogError("organizations access", f"Service Catalog's access to AWS Organizations is {status}; {ACCESS_HINT}")


@dataclass(frozen=True)
class Wait:
    """How to wait for an organization share: where progress goes, the clock, the limit."""

    report: Callable[[str], None]
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    timeout_seconds: float = 30 * 60


def apply(sc, portfolio_id: str, sharing: Sharing, out: Outcome, wait: Wait) -> None:
    """Create the shares that are missing, turn on principal sharing where it is off, delete the
    shares asked to be removed; each organization operation followed to its end."""
    kinds = {n.listed_as for n in (*sharing.share, *sharing.unshare)}
    existing = {kind: listed_shares(sc, portfolio_id, kind) for kind in sorted(kinds)}
    for node in sharing.share:
        found = existing[node.listed_as].get(node.value)
        if found is None:
            principals = {"SharePrincipals": True} if node.shares_principals else {}
            made = call(sc, "create_portfolio_share", PortfolioId=portfolio_id, OrganizationNode=_node(node), **principals)
            _follow(sc, made.get("PortfolioShareToken"), node, "sharing with", wait)
            out.created.append(entry(node.kind, node.value, portfolio_id))
            wait.report(f"  shared with {node.value}: {_received(node)}")
        elif node.shares_principals and not found.get("SharePrincipals"):
            made = call(sc, "update_portfolio_share", PortfolioId=portfolio_id, OrganizationNode=_node(node), SharePrincipals=True)
            _follow(sc, made.get("PortfolioShareToken"), node, "sharing principals with", wait)
            out.updated.append(entry(f"{node.kind} -> principals shared", node.value, portfolio_id))
        else:
            out.reused.append(entry(node.kind, node.value, portfolio_id))
    for node in sharing.unshare:
        if node.value not in existing[node.listed_as]:
            out.reused.append(entry(f"{node.kind} (not shared, nothing to remove)", node.value, portfolio_id))
            continue
        made = call(sc, "delete_portfolio_share", PortfolioId=portfolio_id, OrganizationNode=_node(node))
        _follow(sc, made.get("PortfolioShareToken"), node, "unsharing from", wait)
        out.removed.append(entry(node.kind, node.value, portfolio_id))


def listed_shares(sc, portfolio_id: str, kind: str) -> dict[str, dict]:
    """The portfolio's shares of one DescribePortfolioShares Type, by recipient id, every page.
    (botocore has no paginator for this operation, so PageToken is followed here.)"""
    found: dict[str, dict] = {}
    token = None
    while True:
        page = call(sc, "describe_portfolio_shares", PortfolioId=portfolio_id, Type=kind, **({"PageToken": token} if token else {}))
        for detail in page.get("PortfolioShareDetails", []):
            found[detail["PrincipalId"]] = detail  # an account id or an OU id (Id: ^[a-zA-Z0-9_\-]*)
        token = page.get("NextPageToken")
        if not token:
            return found


def _received(node: Node) -> str:
    """What the recipient gets, for the output: no acceptance step, and whether principals came."""
    if node.shares_principals:
        return "imported automatically in each account of the OU, with the portfolio's principal patterns (SharePrincipals)"
    return ("imported automatically, no AcceptPortfolioShare needed; principals are not shared with a single account "
            "(SharePrincipals is for OUs), so its administrator associates who may launch there")


def _node(node: Node) -> dict:
    return {"Type": node.type, "Value": node.value}


def _follow(sc, token: str | None, node: Node, doing: str, wait: Wait) -> None:
    """Poll an organization share operation until it ends; raise CatalogError if it failed or
    outlasts the wait (it carries on in AWS, and the message says how to look at it)."""
    if not token:
        return
    started, delay = wait.clock(), 2.0
    while True:
        status = call(sc, "describe_portfolio_share_status", PortfolioShareToken=token)
        state = status.get("Status", "NOT_STARTED")
        if state == DONE:
            return
        if state in FAILED:
            raise CatalogError(node.value, f"{doing} {node.value} ended {state}: {_errors(status)}")
        elapsed = wait.clock() - started
        if elapsed >= wait.timeout_seconds:
            raise CatalogError(node.value, f"{doing} {node.value} is still {state} after {_took(elapsed)}; it goes on in AWS: "
                               f"aws servicecatalog describe-portfolio-share-status --portfolio-share-token {token}")
        wait.report(f"  {doing} {node.value}: {state} ({elapsed:.0f} s)")
        wait.sleep(delay)
        delay = min(delay * 2, 15.0)


def _took(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} minutes"


def _errors(status: dict) -> str:
    errors = status.get("ShareDetails", {}).get("ShareErrors", [])
    lines = [f"{', '.join(e.get('Accounts', [])) or 'all accounts'}: {e.get('Error', 'error')}: {e.get('Message', '')}".strip() for e in errors]
    return "; ".join(lines) or "no details given"
