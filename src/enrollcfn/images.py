"""Which image digest a deploy passes as the root Parameter ImageDigest.

The task definition runs `repository@ImageDigest`. The redeploy function moves the service to a
new digest on every push of a `registry.redeploy_tag_prefix` tag, outside CloudFormation, so a
deploy must not send the service back to the digest the template last saw. The rule:

1. a tag the operator names for this deploy: its digest (a rollback is a deploy of an older tag);
2. otherwise the digest the service runs now (read back from its task definition);
3. otherwise (first deploy, or the service runs a tag) the digest of `service.image_tag`.

With IMMUTABLE tags a tag names one digest for as long as the image exists, so 1 and 3 are exact.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from enrollcfn.config import Config
from enrollcfn.changesets import DeployError

_MISSING = ("ImageNotFoundException", "RepositoryNotFoundException")


def digest_of(ecr, repository: str, tag: str, key: str = "service.image_tag") -> str:
    """The digest ECR holds for `repository:tag`; DeployError (naming `key`) when there is none."""
    try:
        found = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _MISSING:
            raise
        found = []
    if not found:
        raise DeployError(key, f"image {repository}:{tag} is not in ECR; push it first")
    return found[0]["imageDigest"]


def running_digest(ecs, cluster: str, service: str, container: str) -> str | None:
    """The digest `container` of the ACTIVE `service` runs, or None (no service, or a tag)."""
    try:
        services = ecs.describe_services(cluster=cluster, services=[service])["services"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ClusterNotFoundException":
            raise
        return None
    active = [s for s in services if s["status"] == "ACTIVE"]
    if not active:
        return None
    taskdef = ecs.describe_task_definition(taskDefinition=active[0]["taskDefinition"])["taskDefinition"]
    images = [c["image"] for c in taskdef["containerDefinitions"] if c["name"] == container]
    if not images or "@" not in images[0]:
        return None
    return images[0].rsplit("@", 1)[1]


def digest_to_deploy(ecr, ecs, cfg: Config, tag: str | None = None) -> str:
    """ImageDigest for a deploy of `cfg`: the named tag's, else the running one, else the config tag's."""
    repository = cfg.registry.repository_name
    if tag:
        return digest_of(ecr, repository, tag, key="--image-tag")
    running = running_digest(ecs, cfg.cluster.name, cfg.service.name, container=repository) if ecs is not None else None
    return running or digest_of(ecr, repository, cfg.service.image_tag)
