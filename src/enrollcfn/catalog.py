"""Service Catalog publishing over an injected client.

A publish makes the packaged root template available as a versioned product:

- the portfolio and the product are created once and found by name afterwards; a product of the
  same name that this stack did not publish is an error, never adopted;
- a provisioning artifact is added only when the root's content hash is new. Its name is
  `v<N> <hash>` (the hash is how a later publish finds it) and its description names the
  templates that changed since the previous version;
- the newest artifact is DEFAULT, older ones DEPRECATED, and with `keep` only the newest `keep`
  stay active;
- the launch constraint names the catalog stack's launch role by LocalRoleName, so the role of
  that name is used in whichever account launches (the portfolio may be shared, sharing.py);
- principals are associated: IAM ARNs of this account, and IAM_PATTERN ARNs without an account
  that match a role, user or group of that name in every account the portfolio is shared with.

`inspect` and `check_principals` only read, and `publish` runs after both, so a name conflict or
a missing principal stops the run before anything is created.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from enrollcfn.errors import CatalogError

if TYPE_CHECKING:  # the compiler and templates stay unloaded until a publish packages them
    from enrollcfn.package import Package

VERSION_NAME = re.compile(r"^v(\d+) ([0-9a-f]{16})$")
_TEMPLATES = "Templates: "
_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|group|user)/(?:[^/]+/)*([^/]+)$")


@dataclass(frozen=True)
class Release:
    """The packaged root to publish: its URL, its content hash and each template's hash."""

    url: str
    digest: str
    templates: dict[str, str]

    @classmethod
    def of(cls, package: Package) -> Release:
        """The release of a package made by package.package_templates."""
        hashes = {a.name: a.digest[:16] for a in package.artifacts.values()}
        return cls(package.root.url, hashes[package.root.name], hashes)


@dataclass(frozen=True)
class Existing:
    """What a read-only look found: the portfolio and product of those names, if any."""

    portfolio: dict | None
    product: dict | None


@dataclass
class Outcome:
    """What a publish did; each entry is {"kind", "name", "id"}."""

    version: str = ""
    portfolio_id: str = ""
    created: list[dict] = field(default_factory=list)
    reused: list[dict] = field(default_factory=list)
    updated: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The outcome as plain data, for `--json`."""
        return {"version": self.version, "created": self.created, "reused": self.reused, "updated": self.updated,
                "removed": self.removed}


def owner_of(stack: str) -> str:
    """The product Owner that marks a product as published from root stack `stack`."""
    return f"enrollcfn stack {stack}"


def inspect(sc, portfolio: str, product: str, owner: str) -> Existing:
    """Find the portfolio and the product by name; raise CatalogError when a name is ambiguous
    or the product belongs to someone else. Reads only."""
    portfolios = [p for p in pages(sc, "list_portfolios", "PortfolioDetails") if p["DisplayName"] == portfolio]
    if len(portfolios) > 1:
        raise CatalogError(portfolio, f"{len(portfolios)} portfolios have this name; rename all but one")
    views = pages(sc, "search_products_as_admin", "ProductViewDetails", Filters={"FullTextSearch": [product]})
    products = [v["ProductViewSummary"] for v in views if v["ProductViewSummary"]["Name"] == product]
    foreign = [p for p in products if p.get("Owner") != owner]
    if foreign:
        raise CatalogError(
            product,
            f"product name already taken by {foreign[0]['ProductId']} (owner {foreign[0].get('Owner')!r}); choose another --product",
        )
    if len(products) > 1:
        raise CatalogError(product, f"{len(products)} products of this name are owned by {owner!r}; delete all but one")
    return Existing(portfolios[0] if portfolios else None, products[0] if products else None)


def check_principals(iam, arns: list[str]) -> None:
    """Raise CatalogError naming the first principal ARN that is malformed or does not exist."""
    from botocore.exceptions import ClientError

    for arn in arns:
        match = _PRINCIPAL.match(arn)
        if not match:
            raise CatalogError(arn, "not an IAM role, group or user ARN (arn:aws:iam::<account>:role/<name>)")
        kind, name = match.groups()
        try:
            getattr(iam, f"get_{kind}")(**{f"{kind.capitalize()}Name": name})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                raise CatalogError(arn, f"no such IAM {kind}; create it or leave it out of --principal") from None
            raise CatalogError(arn, message(exc)) from None


@dataclass(frozen=True)
class Listing:
    """Where and how the product is listed: names, owner, the launch role's name, principals (IAM
    ARNs and IAM_PATTERN ARNs), versions kept."""

    portfolio: str
    product: str
    owner: str
    launch_role: str
    principals: tuple[str, ...] = ()
    keep: int | None = None
    patterns: tuple[str, ...] = ()


def publish(sc, existing: Existing, release: Release, listing: Listing) -> Outcome:
    """Ensure portfolio, product, artifact, launch constraint and principals; set the guidance."""
    portfolio, product, owner, keep = listing.portfolio, listing.product, listing.owner, listing.keep
    out = Outcome()
    if existing.portfolio:
        portfolio_id = existing.portfolio["Id"]
        out.reused.append(entry("portfolio", portfolio, portfolio_id))
    else:
        portfolio_id = call(
            sc, "create_portfolio", DisplayName=portfolio, ProviderName=owner, IdempotencyToken=_token("portfolio", portfolio)
        )["PortfolioDetail"]["Id"]
        out.created.append(entry("portfolio", portfolio, portfolio_id))
    product_id, artifacts, current = _ensure_product(sc, existing.product, release, product, owner, out)
    _ensure_association(sc, portfolio_id, product_id, out)
    _ensure_launch_constraint(sc, portfolio_id, product_id, listing.launch_role, out)
    _ensure_principals(sc, portfolio_id, listing, out)
    _set_guidance(sc, product_id, current, artifacts, keep, out)
    out.version, out.portfolio_id = current["Name"], portfolio_id
    return out


def _ensure_principals(sc, portfolio_id: str, listing: Listing, out: Outcome) -> None:
    """Associate each principal not yet associated with the same type."""
    listed = pages(sc, "list_principals_for_portfolio", "Principals", PortfolioId=portfolio_id)
    known = {(p["PrincipalARN"], p.get("PrincipalType", "IAM")) for p in listed}
    wanted = [(arn, "IAM", "principal") for arn in listing.principals] + [(arn, "IAM_PATTERN", "principal pattern") for arn in listing.patterns]
    for arn, kind, what in wanted:
        if (arn, kind) in known:
            out.reused.append(entry(what, arn, portfolio_id))
            continue
        call(sc, "associate_principal_with_portfolio", PortfolioId=portfolio_id, PrincipalARN=arn, PrincipalType=kind)
        out.created.append(entry(what, arn, portfolio_id))


def _ensure_product(sc, found: dict | None, release: Release, product: str, owner: str, out: Outcome):
    """The product id, its versioned artifacts before this publish, and the current artifact."""
    artifacts = []
    if found:
        product_id = found["ProductId"]
        out.reused.append(entry("product", product, product_id))
        listed = call(sc, "list_provisioning_artifacts", ProductId=product_id)["ProvisioningArtifactDetails"]
        artifacts = sorted((a for a in listed if VERSION_NAME.match(a["Name"])), key=_version, reverse=True)
        same = [a for a in artifacts if VERSION_NAME.match(a["Name"]).group(2) == release.digest]
        if same:
            out.reused.append(entry("artifact", same[0]["Name"], same[0]["Id"]))
            return product_id, artifacts, same[0]
    params = _artifact_parameters(release, artifacts)
    token = _token("artifact", product, release.digest)
    if found:
        current = call(sc, "create_provisioning_artifact", ProductId=product_id, Parameters=params, IdempotencyToken=token)
    else:
        current = call(
            sc,
            "create_product",
            Name=product,
            Owner=owner,
            Description="Student Enrollment Laravel API on ECS Fargate (network, database, load balancer, service)",
            ProductType="CLOUD_FORMATION_TEMPLATE",
            ProvisioningArtifactParameters=params,
            IdempotencyToken=token,
        )
        product_id = current["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
        out.created.append(entry("product", product, product_id))
    detail = current["ProvisioningArtifactDetail"]
    out.created.append(entry("artifact", detail["Name"], detail["Id"]))
    return product_id, artifacts, detail


def _artifact_parameters(release: Release, previous: list[dict]) -> dict:
    """Name `v<N> <hash>` and a description of what changed since the newest previous version."""
    hashes = " ".join(f"{name}={digest[:8]}" for name, digest in sorted(release.templates.items()))
    if previous:
        last = previous[0]
        before = dict(pair.split("=", 1) for pair in last.get("Description", "").partition(_TEMPLATES)[2].split())
        changed = sorted(n for n, d in release.templates.items() if before.get(n) != d[:8])
        what = f"Changed since {last['Name'].split()[0]}: {', '.join(changed)}."
    else:
        what = "First version."
    return {
        "Name": f"v{_version(previous[0]) + 1 if previous else 1} {release.digest}",
        "Description": f"{what} {_TEMPLATES}{hashes}",
        "Info": {"LoadTemplateFromURL": release.url},
        "Type": "CLOUD_FORMATION_TEMPLATE",
    }


def _ensure_association(sc, portfolio_id: str, product_id: str, out: Outcome) -> None:
    listed = pages(sc, "list_portfolios_for_product", "PortfolioDetails", ProductId=product_id)
    if any(p["Id"] == portfolio_id for p in listed):
        out.reused.append(entry("association", product_id, portfolio_id))
        return
    call(sc, "associate_product_with_portfolio", ProductId=product_id, PortfolioId=portfolio_id)
    out.created.append(entry("association", product_id, portfolio_id))


def _ensure_launch_constraint(sc, portfolio_id: str, product_id: str, role_name: str, out: Outcome) -> None:
    # LocalRoleName, not RoleArn: each account that launches uses its own role of this name, and
    # the role must exist in this account too (AWS::ServiceCatalog::LaunchRoleConstraint docs).
    parameters = json.dumps({"LocalRoleName": role_name})
    listed = pages(sc, "list_constraints_for_portfolio", "ConstraintDetails", PortfolioId=portfolio_id, ProductId=product_id)
    launch = [c for c in listed if c["Type"] == "LAUNCH"]
    if not launch:
        created = call(
            sc,
            "create_constraint",
            PortfolioId=portfolio_id,
            ProductId=product_id,
            Type="LAUNCH",
            Parameters=parameters,
            Description="Provision with the catalog stack's launch role of this name, in the launching account",
            IdempotencyToken=_token("constraint", portfolio_id, product_id, role_name),
        )
        out.created.append(entry("launch constraint", role_name, created["ConstraintDetail"]["ConstraintId"]))
        return
    constraint_id = launch[0]["ConstraintId"]
    current = json.loads(call(sc, "describe_constraint", Id=constraint_id).get("ConstraintParameters") or "{}")
    if current.get("LocalRoleName") == role_name:
        out.reused.append(entry("launch constraint", role_name, constraint_id))
        return
    # A constraint by RoleArn (an earlier publish) or another name: point it at this role name.
    call(sc, "update_constraint", Id=constraint_id, Parameters=parameters)
    out.updated.append(entry("launch constraint", role_name, constraint_id))


def _set_guidance(sc, product_id: str, current: dict, artifacts: list[dict], keep: int | None, out: Outcome) -> None:
    """Newest DEFAULT and active; older DEPRECATED; beyond the newest `keep`, inactive."""
    ordered = [current] + [a for a in artifacts if a["Id"] != current["Id"]]
    for i, artifact in enumerate(ordered):
        guidance = "DEFAULT" if i == 0 else "DEPRECATED"
        active = keep is None or i < keep
        if artifact.get("Guidance", "DEFAULT") == guidance and artifact.get("Active", True) == active:
            continue
        call(
            sc,
            "update_provisioning_artifact",
            ProductId=product_id,
            ProvisioningArtifactId=artifact["Id"],
            Guidance=guidance,
            Active=active,
        )
        state = guidance if active else f"{guidance}, inactive"
        out.updated.append(entry(f"artifact -> {state}", artifact["Name"], artifact["Id"]))


def _version(artifact: dict) -> int:
    return int(VERSION_NAME.match(artifact["Name"]).group(1))


def entry(kind: str, name: str, id_: str) -> dict:
    """One line of an Outcome."""
    return {"kind": kind, "name": name, "id": id_}


def _token(*parts: str) -> str:
    """A deterministic idempotency token: a retried call with the same inputs creates nothing new."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def pages(sc, operation: str, key: str, **kwargs) -> list[dict]:
    """Every item of a paginated Service Catalog list call (botocore's paginator)."""
    from botocore.exceptions import ClientError

    try:
        return [item for page in sc.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]
    except ClientError as exc:
        raise CatalogError(f"servicecatalog.{operation}", message(exc)) from None


def call(sc, operation: str, **kwargs) -> dict:
    """One Service Catalog call; an AWS error becomes a CatalogError naming the operation."""
    from botocore.exceptions import ClientError

    try:
        return getattr(sc, operation)(**kwargs)
    except ClientError as exc:
        raise CatalogError(f"servicecatalog.{operation}", message(exc)) from None


def message(exc) -> str:
    """An AWS error as `Code: Message`."""
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
