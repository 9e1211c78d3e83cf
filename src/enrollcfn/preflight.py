"""Read-only checks before a deploy, each turning hours of a stuck rollout into one clear line.

Every problem is collected, not only the first, so one run names them all. `warnings` are the
config's risks that do not stop a deploy.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from enrollcfn import imageconfig
from enrollcfn.config import Config
from enrollcfn.config.delivery import GITHUB_ISSUER
from enrollcfn.deploy import DeployError


def preflight(ecr, route53, cfg: Config, repository_uri: str) -> list[DeployError]:
    """Every blocking problem found: the image is not in ECR, the hosted zone is not the config's."""
    problems = []
    if ecr is not None:
        problems.extend(_image(ecr, cfg, repository_uri))
    if route53 is not None:
        problems.extend(_zone(route53, cfg))
    return problems


def image(ecr, cfg: Config, digest: str, fetch: imageconfig.Fetch = imageconfig.https_get) -> tuple[list[DeployError], list[DeployError]]:
    """(errors, warnings) of running image `digest` as `cfg` says, from the image's own config
    (architecture, os, user, volumes, ports; imageconfig.py); an image that cannot be read is an error."""
    try:
        found = imageconfig.read(ecr, cfg.registry.repository_name, {"imageDigest": digest}, cfg.service.cpu_architecture, fetch)
    except DeployError as exc:
        return [exc], []
    return imageconfig.problems(cfg, found)


def warnings(cfg: Config) -> list[DeployError]:
    """What a deploy goes ahead with but should not: a production environment whose alarms and
    budget notify no one (the alarm topic has no subscriber unless the config names one)."""
    m = cfg.monitoring
    if cfg.production and not (m.alarm_email or m.alarm_topic_arn):
        return [DeployError("monitoring.alarm_email", "production, yet the alarms and the budget notify no one: set monitoring.alarm_email, "
                            "or monitoring.alarm_topic_arn (an existing SNS topic of a chat or paging tool), or production: false")]
    return []


def _image(ecr, cfg: Config, repository_uri: str) -> list[DeployError]:
    try:
        ecr.describe_images(repositoryName=cfg.registry.repository_name, imageIds=[{"imageTag": cfg.service.image_tag}])
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("ImageNotFoundException", "RepositoryNotFoundException"):
            raise
        return [DeployError("service.image_tag", push_hint(cfg, repository_uri))]
    return []


def _zone(route53, cfg: Config) -> list[DeployError]:
    try:
        zone = route53.get_hosted_zone(Id=cfg.dns.hosted_zone_id)["HostedZone"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NoSuchHostedZone", "InvalidInput"):
            raise
        return [DeployError("dns.hosted_zone_id", f"no hosted zone {cfg.dns.hosted_zone_id}; set the id of "
                            f"{cfg.dns.zone_name} (aws route53 list-hosted-zones-by-name --dns-name {cfg.dns.zone_name})")]
    if zone["Name"].rstrip(".") != cfg.dns.zone_name:
        return [DeployError("dns.hosted_zone_id", f"{cfg.dns.hosted_zone_id} is {zone['Name']}, not {cfg.dns.zone_name}")]
    return []


def push_hint(cfg: Config, uri: str) -> str:
    """What to run to push the configured image tag."""
    registry = uri.split("/", 1)[0] or "ACCOUNT.dkr.ecr.REGION.amazonaws.com"
    tag, repo = cfg.service.image_tag, cfg.registry.repository_name
    return (f"image {repo}:{tag} is not in ECR, so the service would never start. Push it:\n"
            f"  aws ecr get-login-password --region {cfg.region} | docker login --username AWS --password-stdin {registry}\n"
            f"  docker build -t {repo}:{tag} .\n"
            f"  docker tag {repo}:{tag} {uri}:{tag}\n"
            f"  docker push {uri}:{tag}")


def provider_taken(iam, issuer: str = GITHUB_ISSUER) -> list[DeployError]:
    """A new delivery stack would create the account's OIDC provider for `issuer`, but one exists:
    IAM holds one provider per URL, so the stack would fail and roll back (CreateOpenIDConnectProvider)."""
    arns = [p["Arn"] for p in iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", [])]
    taken = [arn for arn in arns if arn.endswith(f":oidc-provider/{issuer}")]
    if not taken:
        return []
    return [DeployError("delivery.provider_arn", f"this account already has the OIDC provider for {issuer}; an account holds one per URL, "
                        f"so name it: delivery.provider_arn: {taken[0]}")]
