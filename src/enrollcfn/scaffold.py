"""`enrollcfn init`: a project file (enrollcfn.yaml) and an environment's config from a few
answers. The config holds only what differs from the defaults (docs/configuration.md lists every
key); it is validated as `deploy` would read it before anything is written.

The hosted zone's id is looked up by name (Route 53 ListHostedZonesByName) when not given, and
the account comes from the credentials (STS GetCallerIdentity) when not given: the two values a
first deploy most often gets wrong by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from enrollcfn.config.model import production_named
from enrollcfn.errors import EnrollcfnError

HEADER = "# Written by `enrollcfn init`"


@dataclass(frozen=True)
class Answers:
    environment: str
    stack: str
    account: str
    region: str
    zone: str
    hosted_zone_id: str
    domain: str | None
    email: str | None
    profile: str | None = None


def zones_named(route53, zone: str) -> tuple[list[str], bool]:
    """(the ids of the public hosted zones named `zone`, without /hostedzone/; whether a private
    one of the name exists). ListHostedZonesByName lists from `zone` on, in name order."""
    name = zone.rstrip(".") + "."
    found = [z for z in route53.list_hosted_zones_by_name(DNSName=name, MaxItems="10").get("HostedZones", []) if z["Name"] == name]
    public = [z["Id"].rsplit("/", 1)[-1] for z in found if not z.get("Config", {}).get("PrivateZone")]
    return public, len(public) < len(found)


def hosted_zone_id(route53, zone: str) -> str:
    """The id of the public hosted zone named `zone` (without /hostedzone/); one line otherwise."""
    public, private_too = zones_named(route53, zone)
    if not public:
        private = " (only a private one, which ACM cannot validate through)" if private_too else ""
        raise EnrollcfnError("dns.zone_name", f"no public hosted zone {zone} in this account{private}; create it "
                             f"(aws route53 create-hosted-zone --name {zone} --caller-reference init-{zone}) and delegate it "
                             "at the registrar, or pass --hosted-zone-id")
    if len(public) > 1:
        raise EnrollcfnError("dns.zone_name", f"{len(public)} public hosted zones are named {zone} ({', '.join(public)}); pass "
                             "--hosted-zone-id with the one the registrar delegates to")
    return public[0]


def config_text(a: Answers) -> str:
    """The environment's config: the keys it sets, each explained; everything else is the default."""
    production = production_named(a.environment)
    lines = [
        f"{HEADER} for environment {a.environment}: only what differs from the defaults",
        "# (every key: docs/configuration.md; what one costs: `enrollcfn cost --config THIS_FILE`).",
        f"environment: {a.environment}",
        f"region: {a.region}",
        f"production: {'true' if production else 'false'}"
        + ("  # deletion protection, final snapshot, alarm warnings" if production else
           "  # no deletion protection or final snapshot: `enrollcfn destroy` removes it all"),
        "dns:",
        f"  zone_name: {a.zone}",
        f"  hosted_zone_id: {a.hosted_zone_id}",
    ]
    if a.domain:
        lines.append(f"  api_domain: {a.domain}")
    lines += ["monitoring:", f"  alarm_email: {_quoted(a.email or '')}  # who hears the alarms (confirm the e-mail SNS sends)"]
    return "\n".join(lines) + "\n"


def project_entry(a: Answers, config: str) -> str:
    """One environment's lines under `environments:`."""
    lines = [f"  {a.environment}:", f"    config: {_quoted(config)}", f"    stack: {a.stack}",
             f'    account: "{a.account}"', f"    region: {a.region}"]
    if a.profile:
        lines.append(f"    profile: {a.profile}")
    return "\n".join(lines) + "\n"


def project_text(a: Answers, config: str) -> str:
    return (f"{HEADER}: each environment's config, root stack, account and region\n"
            f"# (enrollcfn ls lists them; enrollcfn deploy {a.environment} deploys one).\n"
            "environments:\n" + project_entry(a, config))


def _quoted(text: str) -> str:
    """A YAML 1.2 plain scalar when it is one, else single-quoted."""
    if re.fullmatch(r"[A-Za-z0-9_./@+-]+", text) and not re.fullmatch(r"[-+]?[0-9._]+|true|false|null|~", text, re.I):
        return text
    return "'" + text.replace("'", "''") + "'"


def default_stack(environment: str) -> str:
    return f"se-{environment}".replace("_", "-").replace(".", "-")[:128]


def relative(path: Path, base: Path) -> str:
    try:
        return str(path.absolute().relative_to(base.absolute()))
    except ValueError:
        return str(path.absolute())

