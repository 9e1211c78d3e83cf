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
CloudWatch log group 512. The one name with a tighter limit is the launch role's
(`launch_role`): IAM takes 64 characters for a role name, and `<project>-<environment>-launch`
may reach 72, so a longer one is cut and ends in a hash of the whole.
"""

from __future__ import annotations

import hashlib

# IAM CreateRole: RoleName is 1-64 characters of [\w+=,.@-] (botocore's iam roleNameType).
ROLE_NAME_CHARS = 64
_LAUNCH = "launch"
_HASH_CHARS = 8


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


def launch_role(project: str, environment: str) -> str:
    """`<project>-<environment>-launch`, the Service Catalog launch role's name in every account
    that launches the product (the launch constraint names it by LocalRoleName). Over IAM's 64
    characters (up to 32 + 1 + 32 + 7 = 72), the name is cut to 55 and ends in `-` and 8 hex
    digits of the full name's SHA-256, so it stays unique per project and environment."""
    name = f"{prefix(project, environment)}-{_LAUNCH}"
    if len(name) <= ROLE_NAME_CHARS:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_CHARS]
    return f"{name[: ROLE_NAME_CHARS - _HASH_CHARS - 1]}-{digest}"


def role_name(project: str, environment: str, purpose: str) -> str:
    """`<project>-<environment>-<purpose>`, or, past IAM's 64 characters, its stem shortened and
    followed by 8 hex digits of the whole name's SHA-256 and the purpose, so two long names still differ."""
    whole = f"{prefix(project, environment)}-{purpose}"
    if len(whole) <= ROLE_NAME_CHARS:
        return whole
    digest = hashlib.sha256(whole.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    stem = prefix(project, environment)[: ROLE_NAME_CHARS - len(purpose) - _HASH_CHARS - 2].rstrip("-")
    return f"{stem}-{digest}-{purpose}"
