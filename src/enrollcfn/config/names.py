"""The physical names AWS holds for one environment, derived from project + environment.

Many environments share one account and region, so no name is fixed: the repository, the
cluster and the service default to `<project>-<environment>`, and everything named after them
(the log group, the task family, scaling policies, the boundary policy) follows. A config may
still set `registry.repository_name` to an existing repository, for example one whose images are
promoted from dev to production. Every other resource is left for CloudFormation to name, which
makes its names unique per stack.

project and environment are each at most 32 characters (config.model.Slug), so the longest
derived name, `<project>-<environment>-boundary` (74), stays inside every limit it meets: ECR
repository 256, ECS cluster 255, service 242 (config.service.ServiceName), IAM managed policy 128,
CloudWatch log group 512.
"""

from __future__ import annotations


def prefix(project: str, environment: str) -> str:
    """`<project>-<environment>`: the stem of every derived name."""
    return f"{project}-{environment}"
