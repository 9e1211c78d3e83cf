"""The publish pipeline: the compiled product as a versioned Service Catalog product.

Read-only checks first (the artifact bucket exists, the portfolio and product names are free or
ours, every principal exists, and when sharing, Service Catalog's Organizations access is on), so
a conflict stops the run before anything is created; then the launch-role stack (`NAME-catalog`)
through the same previewed, guarded change set as deploy; then packaging and the catalog calls
(catalog.py); last the portfolio shares (sharing.py), so a consumer sees a complete portfolio.
"""

from __future__ import annotations

import time

from collections.abc import Callable
from dataclasses import dataclass, field

from enrollcfn import catalog, sharing
from enrollcfn.compiler import Build
from enrollcfn.config import Config
from enrollcfn.config.names import launch_role
from enrollcfn.package import package_templates
from enrollcfn.pipeline import Clients, Console, Options, Run, stack_tags, standalone
from enrollcfn.stacks import bootstrap_stack_name, catalog_stack_name, output, outputs
from enrollcfn.templates import CATALOG
from enrollcfn.templates.bootstrap import ARTIFACT_BUCKET_NAME
from enrollcfn.templates.catalog import ARTIFACT_PREFIX


@dataclass(frozen=True)
class Request:
    """What to publish, and to whom."""

    stack: str
    portfolio: str
    product: str
    principals: tuple[str, ...] = ()
    keep: int | None = None
    yes: bool = False
    as_json: bool = False
    shares: sharing.Sharing = field(default_factory=sharing.Sharing)


@dataclass(frozen=True)
class Published:
    """What a publish did: the catalog outcome, the root's URL and what was uploaded."""

    outcome: catalog.Outcome
    url: str
    uploaded: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.outcome.created or self.outcome.updated or self.outcome.removed)

    def to_dict(self, req: Request) -> dict:
        report = {"product": req.product, "portfolio": req.portfolio, "url": self.url, "uploaded": self.uploaded,
                  "changed": self.changed}
        return {**report, **self.outcome.to_dict()}


def publish(client: Callable[[str], object], cfg: Config, build: Build, req: Request, console: Console,
            sleep: Callable[[float], None] = time.sleep) -> Published:
    """Publish `build`'s product for root stack `req.stack`; `client(service)` makes AWS clients."""
    sharing.check_readers(cfg.catalog.organization_id, req.shares)
    cfn = client("cloudformation")
    boot_name = bootstrap_stack_name(req.stack)
    bucket = output(boot_name, outputs(cfn, boot_name), ARTIFACT_BUCKET_NAME)
    sc = client("servicecatalog")
    owner = catalog.owner_of(req.stack)
    existing = catalog.inspect(sc, req.portfolio, req.product, owner)
    catalog.check_principals(client("iam"), list(req.principals))
    if req.shares.wanted:
        sharing.check_access(sc)
    # Only now, with names and principals checked, anything is created: first the launch role.
    name = catalog_stack_name(req.stack)
    r = Run(Clients(cfn), Options(stack=req.stack, yes=req.yes, as_json=req.as_json), console, sleep=sleep)
    standalone(r, name, build[CATALOG], {ARTIFACT_BUCKET_NAME: bucket}, stack_tags(cfg, name))
    # The constraint names the role by LocalRoleName, the name its template gave it (config.names),
    # so the role of that name is found in each account that launches.
    role_name = launch_role(cfg.project, cfg.environment)
    package = package_templates(client("s3"), bucket, ARTIFACT_PREFIX, cfg.region, build.product())
    listing = catalog.Listing(req.portfolio, req.product, owner, role_name, req.principals, req.keep, req.shares.patterns)
    outcome = catalog.publish(sc, existing, catalog.Release.of(package), listing)
    sharing.apply(sc, outcome.portfolio_id, req.shares, outcome, sharing.Wait(console.report, r.sleep, r.clock))
    return Published(outcome, package.root.url, package.uploaded)
