"""`enrollcfn rollback [--to REVISION|DIGEST]`: choose the image to return to.

Tasks run `repository@ImageDigest` (ECR.2: tags are immutable and the service runs exact bytes),
so a rollback is a change set with the root Parameter ImageDigest set to the earlier image's
digest: CloudFormation then owns the running image again. The earlier image is the one of the
newest older task definition revision that ran a different image (the redeploy function and
deploys each register one), or, when there is none, the image pushed before the current one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from enrollcfn.errors import EnrollcfnError, UsageError
from enrollcfn.operations import Deployed
from enrollcfn.templates.cluster import CLUSTER_NAME
from enrollcfn.templates.service import SERVICE_NAME

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Choice:
    """The image a rollback returns to and how it was found."""

    digest: str
    source: str  # for the message


def current_image(ecs, dep: Deployed) -> tuple[str, str]:
    """(task definition ARN, image reference) the service runs now."""
    cluster, service = dep.require(CLUSTER_NAME), dep.require(SERVICE_NAME)
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    if not found:
        raise EnrollcfnError(dep.name, f"service {service} not found in cluster {cluster}")
    arn = found[0]["taskDefinition"]
    return arn, _image(ecs, arn)


def choose(ecs, ecr, dep: Deployed, to: str | None) -> Choice:
    """The image to roll back to: `to` (a task definition revision number or an image digest),
    or the one before the current image."""
    arn, image = current_image(ecs, dep)
    repo = _repository(image)
    current = _digest(ecr, repo, image)
    if to and to.isdigit():
        family = arn.rsplit("/", 1)[-1].split(":")[0]
        old = _digest(ecr, repo, _image(ecs, _revision(ecs, family, to, arn)))
        if old == current:
            raise EnrollcfnError("--to", f"revision {to} runs the current image {current[:19]}; nothing to roll back to")
        return Choice(old, f"task definition {family}:{to}")
    if to:
        if not _DIGEST.match(to):
            raise UsageError("--to", f"{to!r} is neither a task definition revision number nor an image digest (sha256:<64 hex>)")
        if to == current:
            raise EnrollcfnError("--to", f"{to[:19]} is the current image; nothing to roll back to")
        _digest(ecr, repo, f"{repo}@{to}")  # it must still be in the repository
        return Choice(to, f"digest {to[:19]}")
    for old in _older_revision_digests(ecs, ecr, repo, arn):
        if old != current:
            return Choice(old, "the previous task definition revision")
    images = sorted(_images(ecr, repo), key=lambda i: i.get("imagePushedAt") or 0, reverse=True)
    digests = [i["imageDigest"] for i in images]
    if current not in digests or digests.index(current) + 1 >= len(digests):
        raise EnrollcfnError(dep.name, f"no image older than the current one ({current[:19]}) in {repo}; name one with --to")
    return Choice(digests[digests.index(current) + 1], "the image pushed before the current one")


def _older_revision_digests(ecs, ecr, repo: str, arn: str):
    """Digests of the family's earlier revisions, newest first. INACTIVE ones count: CloudFormation
    deregisters the revision a release replaces, and it stays describable."""
    family, revision = arn.rsplit("/", 1)[-1].split(":")
    older = []
    for status in ("ACTIVE", "INACTIVE"):
        for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status=status):
            for other in page.get("taskDefinitionArns", []):
                name, rev = other.rsplit("/", 1)[-1].split(":")
                if name == family and int(rev) < int(revision):
                    older.append((int(rev), other))
    for _, other in sorted(older, reverse=True):
        try:
            yield _digest(ecr, repo, _image(ecs, other))
        except EnrollcfnError:
            continue  # an image the lifecycle rule expired: not one to return to


def _revision(ecs, family: str, to: str, current_arn: str) -> str:
    """`family:to` when that revision exists; one line naming the revisions there are otherwise."""
    revisions = sorted({int(other.rsplit(":", 1)[1]) for status in ("ACTIVE", "INACTIVE")
                        for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status=status)
                        for other in page.get("taskDefinitionArns", []) if other.rsplit("/", 1)[-1].split(":")[0] == family})
    if int(to) not in revisions:
        current = current_arn.rsplit(":", 1)[1]
        listed = f"revisions {revisions[0]} to {revisions[-1]}" if len(revisions) > 1 else f"revision {revisions[0]}" if revisions else "no revisions"
        raise EnrollcfnError("--to", f"task definition {family} has no revision {int(to)}; it has {listed} "
                             f"(the service runs {current}); name one of them or an image digest")
    return f"{family}:{int(to)}"


def _image(ecs, task_definition: str) -> str:
    containers = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]["containerDefinitions"]
    return next((c for c in containers if c.get("essential", True)), containers[0])["image"]


def _repository(image: str) -> str:
    """The repository name of `account.dkr.ecr.region.amazonaws.com/repo:tag` or `.../repo@sha256:...`."""
    path = image.split("/", 1)[-1]
    return path.split("@", 1)[0].rsplit(":", 1)[0] if "@" in path else path.partition(":")[0]


def _digest(ecr, repo: str, image: str) -> str:
    """The digest `image` names (read from the reference, or its tag looked up in ECR)."""
    path = image.split("/", 1)[-1]
    if "@" in path:
        ref = {"imageDigest": path.split("@", 1)[1]}
    else:
        ref = {"imageTag": path.partition(":")[2] or "latest"}
    try:
        [found] = ecr.describe_images(repositoryName=repo, imageIds=[ref])["imageDetails"]
    except ecr.exceptions.ImageNotFoundException:
        raise EnrollcfnError("--to", f"{image} is no longer in the repository; name another image with --to") from None
    return found["imageDigest"]


def _images(ecr, repo: str) -> list[dict]:
    found = []
    for page in ecr.get_paginator("describe_images").paginate(repositoryName=repo):
        found += page.get("imageDetails", [])
    return found
