"""The ECR repository the service pulls from (created by the bootstrap stack), and the cluster."""

from __future__ import annotations

from typing import Annotated, Literal

from enrollcfn.config._base import Bool, Int, Name255, Section, Text, check, int_range

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

    repository_name: RepositoryName = "student-enrollment-laravel-api"  # seed
    # ECR lifecycle countNumber is a positive integer; 1000 bounds it well under the 20,000 images
    # a repository may hold (Amazon ECR service quotas).
    keep_images: Annotated[Int, int_range(1, 1000)] = 30  # seed lifecycle rule "Keep last 30 images"
    scan_on_push: Bool = True  # seed
    # seed: MUTABLE. Redeploy-on-push follows a moving tag, so immutability would break it;
    # ECS resolves the tag to a digest per deployment, so one rollout never mixes images.
    image_tag_mutability: Literal["MUTABLE", "IMMUTABLE"] = "MUTABLE"


class Cluster(Section):
    """The ECS cluster."""

    name: Name255 = "laravel-node"  # seed
    container_insights: Bool = True  # seed
