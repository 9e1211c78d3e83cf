"""The physical names AWS holds for one environment, derived from project + environment.

Many environments share one account and region, so no name is fixed: the repository, the
cluster and the service default to `<project>-<environment>`, and everything named after them
(the log group, the task family, scaling policies, the boundary policy) follows. A config may
still set `registry.repository_name` to an existing repository, for example one whose images are
promoted from dev to production. Every other resource is left for CloudFormation to name, which
makes its names unique per stack. The API's DNS name is one more: one hosted zone serves every
environment, so each gets its own record (`api_domain`).

project and environment are each at most 32 characters (config.model.Slug), so the longest
derived name, `<project>-<environment>-boundary` (74), stays inside every limit it meets: ECR
repository 256, ECS cluster 255, service 242 (config.service.ServiceName), IAM managed policy 128,
CloudWatch log group 512.
"""

from __future__ import annotations


def prefix(project: str, environment: str) -> str:
    """`<project>-<environment>`: the stem of every derived name."""
    return f"{project}-{environment}"


# The seed's API host; a production environment keeps it.
API_LABEL = "server"


def api_domain(environment: str, zone: str, production_names: tuple[str, ...]) -> str:
    """`server.<zone>` for a production-named environment, `<environment>-server.<zone>` otherwise
    (one label: the certificate covers the zone and *.zone; at most 32 + 7 of DNS's 63)."""
    label = API_LABEL if environment in production_names else f"{environment}-{API_LABEL}"
    return f"{label}.{zone}"
