"""The stack registry: the only place that knows which stacks exist and in which order.

`NESTED` are the children of the root, in dependency order: a child may consume only the
outputs of stacks before it (and root Parameters). `STANDALONE` stacks are deployed on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from troposphere import Template

from enrollcfn.config import Config
from enrollcfn.templates import bootstrap, cluster, database, load_balancer, monitoring, network, redeploy, security, service


@dataclass(frozen=True)
class StackSpec:
    """One template: its file name in build/ and the function that builds it."""

    name: str
    build: Callable[[Config], Template]

    @property
    def logical_id(self) -> str:
        """The nested Stack resource's id in the root, e.g. `load_balancer` -> `LoadBalancerStack`."""
        return "".join(part.capitalize() for part in self.name.split("_")) + "Stack"

    @property
    def filename(self) -> str:
        return f"{self.name}.yaml"


NESTED: tuple[StackSpec, ...] = (
    StackSpec("network", network.build),
    StackSpec("security", security.build),
    StackSpec("database", database.build),
    StackSpec("cluster", cluster.build),
    StackSpec("load_balancer", load_balancer.build),
    StackSpec("service", service.build),
    StackSpec("redeploy", redeploy.build),
    StackSpec("monitoring", monitoring.build),
)

STANDALONE: tuple[StackSpec, ...] = (StackSpec("bootstrap", bootstrap.build),)

ROOT = "root"
CATALOG = "catalog"  # standalone, built last from the product's resource types
DELIVERY = "delivery"  # standalone, built only with delivery.enabled (templates/delivery.py)
