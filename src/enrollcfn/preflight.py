"""Read-only checks before a deploy, each turning hours of a stuck rollout into one clear line.

Every problem is collected, not only the first, so one run names them all. `warnings` are the
config's risks that do not stop a deploy.
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from enrollcfn import imageconfig
from enrollcfn.config import Config
from enrollcfn.config.delivery import GITHUB_ISSUER
from enrollcfn.changesets import DeployError


# zone name -> the name servers public DNS gives for its NS record (lower case, no final dot);
# an empty set when the name is not delegated; None when the answer is not known.
Resolver = Callable[[str], "set[str] | None"]
# Queried directly, not through the host's resolver, which may answer from a private zone of the same name.
PUBLIC_RESOLVERS = ("1.1.1.1", "8.8.8.8")


def public_name_servers(zone: str) -> set[str] | None:
    """The NS names public DNS answers for `zone`, through dnspython when it is installed (it is not
    a dependency); None without it or without an answer, so the delegation is then not checked."""
    try:
        import dns.exception
        import dns.resolver
    except ImportError:
        return None
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = list(PUBLIC_RESOLVERS)
    resolver.lifetime = 5.0
    try:
        answer = resolver.resolve(zone, "NS")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return set()  # an answer: nothing delegates this name
    except dns.exception.DNSException:
        return None
    return {_host(r.target.to_text()) for r in answer}


def preflight(route53, cfg: Config, resolver: Resolver = public_name_servers, notes: list[DeployError] | None = None) -> list[DeployError]:
    """Every blocking problem of the hosted zone: not the config's, private, or not the one the
    registrar delegates to. What could not be checked is appended to `notes` (printed as a
    warning, never blocking). The image is the pipeline's (`push_commands` when it is missing)."""
    if route53 is None:
        return []
    return _zone(route53, cfg, resolver, notes if notes is not None else [])


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


def _zone(route53, cfg: Config, resolver: Resolver, notes: list[DeployError]) -> list[DeployError]:
    try:
        answer = route53.get_hosted_zone(Id=cfg.dns.hosted_zone_id)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NoSuchHostedZone", "InvalidInput"):
            raise
        return [DeployError("dns.hosted_zone_id", f"no hosted zone {cfg.dns.hosted_zone_id}; set the id of "
                            f"{cfg.dns.zone_name} (aws route53 list-hosted-zones-by-name --dns-name {cfg.dns.zone_name})")]
    zone, name, zone_id = answer["HostedZone"], cfg.dns.zone_name, cfg.dns.hosted_zone_id
    if zone["Name"].rstrip(".") != name:
        return [DeployError("dns.hosted_zone_id", f"{zone_id} is {zone['Name']}, not {name}")]
    # ACM validates a public certificate by looking the CNAME up in public DNS ("DNS validation",
    # https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html): a record written to a
    # private zone (GetHostedZone HostedZone.Config.PrivateZone, Route 53 API reference,
    # https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetHostedZone.html) is never
    # seen, so the certificate stays PENDING_VALIDATION and the deploy waits for hours.
    if zone.get("Config", {}).get("PrivateZone"):
        return [DeployError("dns.hosted_zone_id", f"{zone_id} is a private hosted zone: ACM validates the certificate through public DNS and "
                            f"would never see its record there; set the id of the public zone of {name} "
                            f"(aws route53 list-hosted-zones-by-name --dns-name {name})")]
    # The same holds for a public zone the registrar does not delegate to (one recreated, or a
    # second zone of the name): its name servers (GetHostedZone DelegationSet.NameServers) are
    # then not the ones public DNS answers for the zone's NS record.
    own = {_host(ns) for ns in answer.get("DelegationSet", {}).get("NameServers", [])}
    answered = resolver(name)
    public = None if answered is None else {_host(ns) for ns in answered}
    if public is None:
        notes.append(DeployError("dns.hosted_zone_id", f"the delegation of {name} was not checked (dnspython is not installed, or public DNS "
                                 f"did not answer): the certificate validates only if the registrar delegates {name} to {', '.join(sorted(own))}"))
    elif own and not public & own:
        delegated = " ".join(sorted(public)) or "no name servers"
        return [DeployError("dns.hosted_zone_id", f"the registrar delegates {name} to {delegated}, not to this hosted zone's "
                            f"{' '.join(sorted(own))}: ACM could never see the validation record; set the id of the delegated zone, "
                            f"or set these name servers at the registrar")]
    return []


def _host(name: str) -> str:
    """A DNS name as compared: lower case, without the final dot."""
    return name.lower().rstrip(".")


RELEASE_TAG = "release-1"  # the first release's tag in the push commands printed (bootstrap, local push)


def push_commands(cfg: Config, uri: str, tag: str, deploy: str = "enrollcfn deploy ...") -> list[str]:
    """The commands that push the image in the working directory to repository `uri` under `tag`
    and deploy it (placeholders for the account and region while `uri` is not known)."""
    registry = uri.split("/", 1)[0] or "ACCOUNT.dkr.ecr.REGION.amazonaws.com"
    uri = uri or "ACCOUNT.dkr.ecr.REGION.amazonaws.com/" + cfg.registry.repository_name
    return [f"aws ecr get-login-password --region {cfg.region} | docker login --username AWS --password-stdin {registry}",
            f"docker build -t {uri}:{tag} .",
            f"docker push {uri}:{tag}",
            f"{deploy} --image-tag {tag}"]


def provider_taken(iam, issuer: str = GITHUB_ISSUER) -> list[DeployError]:
    """A new delivery stack would create the account's OIDC provider for `issuer`, but one exists:
    IAM holds one provider per URL, so the stack would fail and roll back (CreateOpenIDConnectProvider)."""
    arns = [p["Arn"] for p in iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", [])]
    taken = [arn for arn in arns if arn.endswith(f":oidc-provider/{issuer}")]
    if not taken:
        return []
    return [DeployError("delivery.provider_arn", f"this account already has the OIDC provider for {issuer}; an account holds one per URL, "
                        f"so name it: delivery.provider_arn: {taken[0]}")]
