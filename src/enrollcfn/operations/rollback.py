"""`enrollcfn rollback [--to REVISION|DIGEST]`: choose the image to return to.

The templates name the image by tag (the root Parameter ImageTag), so a rollback is a change set
with ImageTag set to a tag of the earlier image: CloudFormation then owns the running image
again and a later deploy cannot silently undo the rollback. The earlier image comes from the
task definition revisions of the family (their image tags), or, when every revision used the
same moving tag (`latest`), from the repository's images by push time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from enrollcfn.errors import EnrollcfnError
from enrollcfn.operations import Deployed
from templates.cluster import CLUSTER_NAME
from templates.service import SERVICE_NAME

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Choice:
    """The image a rollback returns to and why that one."""

    tag: str
    digest: str
    source: str  # how it was found, for the message


def current_image(ecs, dep: Deployed) -> tuple[str, str, str]:
    """(task definition ARN, repository name, tag) the service runs now."""
    cluster, service = dep.require(CLUSTER_NAME), dep.require(SERVICE_NAME)
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    if not found:
        raise EnrollcfnError(dep.name, f"service {service} not found in cluster {cluster}")
    arn = found[0]["taskDefinition"]
    repo, tag = _split(_image(ecs, arn))
    return arn, repo, tag


def choose(ecs, ecr, dep: Deployed, to: str | None) -> Choice:
    """The image to roll back to: `to` (a task definition revision number or an image digest),
    or the one before the current image."""
    arn, repo, tag = current_image(ecs, dep)
    current = _digest_of(ecr, repo, tag)
    if to and to.isdigit():
        family = arn.rsplit("/", 1)[-1].split(":")[0]
        _, old = _split(_image(ecs, f"{family}:{to}"))
        if old == tag:
            raise EnrollcfnError("--to", f"revision {to} used the same tag {tag!r} as now; name the image by digest (--to sha256:...)")
        return Choice(old, _digest_of(ecr, repo, old), f"task definition {family}:{to}")
    if to:
        if not _DIGEST.match(to):
            raise EnrollcfnError("--to", f"{to!r} is neither a task definition revision number nor an image digest (sha256:<64 hex>)")
        return _tagged(ecr, repo, to, tag, f"digest {to[:19]}")
    for old in _older_revision_tags(ecs, arn, tag):
        return Choice(old, _digest_of(ecr, repo, old), "the previous task definition revision")
    images = sorted(_images(ecr, repo), key=lambda i: i.get("imagePushedAt") or 0, reverse=True)
    digests = [i["imageDigest"] for i in images]
    if current not in digests or digests.index(current) + 1 >= len(digests):
        raise EnrollcfnError(dep.name, f"no image older than the current one ({tag}) in {repo}; name one with --to")
    return _tagged(ecr, repo, digests[digests.index(current) + 1], tag, "the image pushed before the current one")


def _tagged(ecr, repo: str, digest: str, current_tag: str, source: str) -> Choice:
    """A tag naming `digest` that is not the moving current tag; one line when it has none."""
    [image] = ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])["imageDetails"]
    tags = [t for t in image.get("imageTags", []) if t != current_tag]
    if current_tag in image.get("imageTags", []) and not tags:
        raise EnrollcfnError("--to", f"{digest[:19]} is the current image ({current_tag}); nothing to roll back to")
    if not tags:
        raise EnrollcfnError("--to", f"image {digest[:19]} has no tag; the templates name images by tag: tag it first with "
                             f"`aws ecr batch-get-image` + `aws ecr put-image --repository-name {repo} --image-tag rollback-<date>`")
    return Choice(sorted(tags)[0], digest, source)


def _older_revision_tags(ecs, arn: str, current_tag: str):
    """Image tags of earlier revisions of the family, newest first, that differ from the current tag."""
    family, revision = arn.rsplit("/", 1)[-1].split(":")
    for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, sort="DESC"):
        for other in page.get("taskDefinitionArns", []):
            name, rev = other.rsplit("/", 1)[-1].split(":")
            if name == family and int(rev) < int(revision):
                _, tag = _split(_image(ecs, other))
                if tag != current_tag:
                    yield tag


def _image(ecs, task_definition: str) -> str:
    containers = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]["containerDefinitions"]
    return next((c for c in containers if c.get("essential", True)), containers[0])["image"]


def _split(image: str) -> tuple[str, str]:
    """(repository name, tag) of `account.dkr.ecr.region.amazonaws.com/repo:tag`."""
    path = image.split("/", 1)[-1]
    repo, _, tag = path.partition(":")
    return repo.split("@")[0], tag or "latest"


def _digest_of(ecr, repo: str, tag: str) -> str:
    try:
        [image] = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ecr.exceptions.ImageNotFoundException:
        raise EnrollcfnError("--to", f"{repo}:{tag} is no longer in the repository; name another image with --to") from None
    return image["imageDigest"]


def _images(ecr, repo: str) -> list[dict]:
    found = []
    for page in ecr.get_paginator("describe_images").paginate(repositoryName=repo):
        found += page.get("imageDetails", [])
    return found
