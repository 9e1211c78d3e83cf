"""The ECR repository the service pulls from (created by the bootstrap stack), and the cluster."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import model_validator

from enrollcfn.config._base import Bool, Int, Name255, Section, Text, check, int_range, rules

# ECR CreateRepository repositoryName: 2-256 characters, pattern
# (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*
RepositoryName = Annotated[
    Text,
    check(
        r"(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*",
        "is not an ECR repository name: use 2-256 lower-case letters and digits separated by '.', '_', '-' or '/'",
    ),
]


class Registry(Section):
    """The ECR repository the service pulls from (created by the bootstrap stack)."""

    # fix: the seed fixed "student-enrollment-laravel-api", so a second environment in the account
    # failed with RepositoryAlreadyExistsException. Left out, it is `<project>-<environment>`
    # (config.names); set it to share an existing repository between environments.
    repository_name: RepositoryName | None = None
    # false: run images from the existing repository `repository_name` (for example production's,
    # whose images are promoted from dev) instead of creating one; its owner keeps its lifecycle,
    # scanning and retention, and this environment's teardown leaves it alone.
    create: Bool = True
    # ECR lifecycle countNumber is a positive integer; 1000 bounds it well under the 20,000 images
    # a repository may hold (Amazon ECR service quotas).
    keep_images: Annotated[Int, int_range(1, 1000)] = 30  # seed lifecycle rule "Keep last 30 images"
    scan_on_push: Bool = True  # seed
    # fix: seed MUTABLE (ECR.2). A tag, once pushed, always names the same image; releases are
    # pushed under new tags and the service runs an image digest.
    image_tag_mutability: Literal["MUTABLE", "IMMUTABLE"] = "IMMUTABLE"
    # Successful pushes of tags that start with this prefix redeploy the service with the pushed
    # digest (seed: pushes of `latest` forced a new deployment). ECR tags: 1-128 characters.
    redeploy_tag_prefix: Annotated[
        Text,
        check(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", "is not the start of an image tag: use 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"),
    ] = "release-"
    # Concurrent executions reserved for the redeploy function; unset by default, since Lambda
    # keeps 100 of the account's concurrency unreserved and a new account's limit may be 10.
    redeploy_reserved_concurrency: Annotated[Int, int_range(1, 1000)] | None = None


    @model_validator(mode="after")
    def _existing_needs_a_name(self) -> Registry:
        if not self.create and self.repository_name is None:
            rules([("registry.repository_name", "name the existing repository to use when registry.create is false")])
        return self


class Cluster(Section):
    """The ECS cluster."""

    name: Name255 | None = None  # fix: seed "laravel-node"; left out, `<project>-<environment>` (config.names)
    container_insights: Bool = True  # seed
