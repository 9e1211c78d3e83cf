"""The root of the config: project, environment and region, one section per concern, and the
rules that join two sections (zones of the region, the deregistration delay under Fargate Spot).

`Config()` is the default deployment, which reproduces the seed. Constructing a Config with
values validates them and raises `ConfigErrors`, like `load` and `parse`."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from enrollcfn.config._base import Bool, Section, Text, check, rules
from enrollcfn.config.catalog import Catalog
from enrollcfn.config.database import Database
from enrollcfn.config.delivery import CI_TAG_PREFIX, Delivery
from enrollcfn.config.dns import Dns
from enrollcfn.config.load_balancer import LoadBalancer
from enrollcfn.config.monitoring import Logs, Monitoring
from enrollcfn.config.names import api_domain, prefix
from enrollcfn.config.network import Network
from enrollcfn.config.problems import translate
from enrollcfn.config.regions import default_zones, known_regions, partition, zones_by_region
from enrollcfn.config.registry import Cluster, Registry
from enrollcfn.config.service import Service, _is_root
from enrollcfn.config.stackset import StackSet

# project and environment make every derived physical name, so they stay short and DNS-safe.
Slug = Annotated[Text, check(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", "is not a name here: use 2-32 lower-case letters, digits and hyphens, starting with a letter")]

# Environment names that always mean production, whatever `production` says.
PRODUCTION_NAMES = ("production", "prod")
# ... and their variants: a hyphen-separated part that is one of these words, or one of them
# followed by digits (prod-eu, eu-production, prod2, live). Every production rule itself is keyed
# on `production: true`; the name only refuses `production: false` where it reads as production.
_PRODUCTION_WORD = re.compile(r"(production|prod|prd|live)[0-9]*")


def production_named(environment: str) -> bool:
    """True when `environment` reads as a production environment (see _PRODUCTION_WORD)."""
    return any(_PRODUCTION_WORD.fullmatch(part) for part in environment.split("-"))

# ELB: with Fargate Spot a task gets a two-minute warning, so draining must end within 120 s.
SPOT_DRAIN_SECONDS = 120

# `compliance`: default holds the Security Hub controls docs/security.md lists; control-tower also every
# AWS Control Tower proactive control (the cfn-guard rules tests/guard.py runs), where the stacks
# add what has no setting (customer keys, functions in the VPC, a server-access-log bucket) and
# the config must hold the rest (CONTROL_TOWER_SETTINGS).
COMPLIANCE = ("default", "control-tower")
CONTROL_TOWER_LOG_RETENTION = 365  # CT.CLOUDWATCH.PR.2: at least a year
CONTROL_TOWER_BACKUP_DAYS = 7  # CT.RDS.PR.8
DEFAULT_MYSQL_PORT = 3306


def control_tower_problems(cfg: Config) -> list[tuple[str, str]]:
    """(key, what to set) for each setting of `cfg` that a Control Tower proactive control refuses."""
    s, db, lb = cfg.service, cfg.database, cfg.load_balancer
    checks = (
        ("network.mode", cfg.network.mode == "private", "private (CT.ECS.PR.9: no public IPs on tasks; CT.LAMBDA.PR.3: functions in the private subnets)", cfg.network.mode),
        ("cluster.container_insights", cfg.cluster.container_insights, "true (CT.ECS.PR.2)", cfg.cluster.container_insights),
        ("service.container_user", s.container_user is not None and not _is_root(s.container_user),
         "a non-root user the image defines, e.g. www-data (CT.ECS.PR.3; see the hardened setting in docs/security.md)", s.container_user),
        ("service.init.enabled", not s.init.enabled, "false (CT.ECS.PR.3: the init container runs as root; the image must declare VOLUME and hold the CA bundle)", s.init.enabled),
        ("load_balancer.deletion_protection", lb.deletion_protection is True, "true (CT.ELASTICLOADBALANCING.PR.5)", lb.deletion_protection),
        ("load_balancer.access_log_bucket", lb.access_log_bucket is not None,
         "an existing bucket, e.g. the log archive's (CT.S3.PR.10: ALB delivers only to SSE-S3 buckets, which the stack may not create)", lb.access_log_bucket),
        ("database.multi_az", db.multi_az, "true (CT.RDS.PR.1)", db.multi_az),
        ("database.general_log", db.general_log, "true (CT.RDS.PR.14: every MySQL log exported, the general log too)", db.general_log),
        ("database.port", db.port != DEFAULT_MYSQL_PORT, f"a port other than {DEFAULT_MYSQL_PORT}, e.g. 3307 (CT.RDS.PR.20)", db.port),
        ("database.deletion_protection", db.deletion_protection is True, "true (CT.RDS.PR.13)", db.deletion_protection),
        ("database.backup_retention_days", db.backup_retention_days >= CONTROL_TOWER_BACKUP_DAYS, f"at least {CONTROL_TOWER_BACKUP_DAYS} (CT.RDS.PR.8)", db.backup_retention_days),
        ("logs.retention_days", cfg.logs.retention_days >= CONTROL_TOWER_LOG_RETENTION, f"at least {CONTROL_TOWER_LOG_RETENTION} (CT.CLOUDWATCH.PR.2)", cfg.logs.retention_days),
        ("monitoring.alarm_topic_arn", not s.deployment.alarms or bool(cfg.monitoring.alarm_topic_arn),
         "an existing SNS topic the release alarms notify (CT.CLOUDWATCH.PR.1: every alarm has an action; the stack's own alarm "
         "topic is made after the service), or service.deployment.alarms: false", cfg.monitoring.alarm_topic_arn),
        ("catalog.organization_id", not cfg.catalog.organization_id,
         "empty: the artifact bucket is encrypted with the AWS-managed S3 key (CT.S3.PR.10), which other accounts cannot use", cfg.catalog.organization_id),
    )
    return [(key, f"compliance: control-tower needs {want}; got {_shown(got)}") for key, ok, want, got in checks if not ok]


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)[:60]


# Every ARN a config names, by key: each must be of the region's partition (an arn:aws-cn: role
# cannot be trusted, notified or assumed from a region of the aws partition).
ARN_KEYS = (("monitoring", "alarm_topic_arn"), ("delivery", "provider_arn"), ("stackset", "administration_role_arn"))


class Config(Section):
    """The whole deployment."""

    project: Slug = "student-enrollment"  # seed
    environment: Slug = "production"  # seed
    region: Text = "ap-southeast-2"  # seed
    # Production is declared, not guessed from the name: true unless a file says otherwise, so a
    # new environment gets production's guards (the alarm-subscriber warning before a deploy, no
    # network.mode public) until it opts out, as config/dev.yaml does.
    production: Bool = True
    # default, or control-tower: every AWS Control Tower proactive control holds (COMPLIANCE above;
    # docs/security.md "Security controls"). Checked last, against the whole file.
    compliance: Text = "default"
    network: Network = Field(default_factory=Network)
    dns: Dns = Field(default_factory=Dns)
    registry: Registry = Field(default_factory=Registry)
    cluster: Cluster = Field(default_factory=Cluster)
    load_balancer: LoadBalancer = Field(default_factory=LoadBalancer)
    service: Service = Field(default_factory=Service)
    database: Database = Field(default_factory=Database)
    logs: Logs = Field(default_factory=Logs)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    catalog: Catalog = Field(default_factory=Catalog)
    delivery: Delivery = Field(default_factory=Delivery)
    stackset: StackSet = Field(default_factory=StackSet)

    def __init__(self, **data: Any) -> None:
        """Validate `data` (sections as mappings or models); raise `ConfigErrors` with every problem."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise translate(exc, type(self)) from None

    @model_validator(mode="after")
    def _production_guards(self) -> Config:
        """A production environment keeps private subnets behind NAT; `production` cannot be
        switched off for an environment named production."""
        out = []
        if not self.production and production_named(self.environment):
            out.append(("production", f"environment {self.environment!r} reads as production (a part named production, prod, prd or "
                                      "live); false is allowed only for other environments: keep true or rename the environment"))
        out += self._partition_problems()
        if self.production and self.network.mode == "public":
            out.append(("network.mode", "public (tasks with public IPs, no NAT) is for non-production environments; "
                                        "use private, or set production: false for a development environment"))
        rules(out)
        return self

    @field_validator("compliance")
    @classmethod
    def _compliance(cls, value: str) -> str:
        if value not in COMPLIANCE:
            rules([("compliance", f"must be one of {', '.join(COMPLIANCE)}, got {value[:40]!r}")])
        return value

    @model_validator(mode="after")
    def _control_tower(self) -> Config:
        """Under compliance: control-tower, every setting a Control Tower proactive control refuses is an error."""
        if self.compliance == "control-tower":
            rules(control_tower_problems(self))
        return self
    def _partition_problems(self) -> list[tuple[str, str]]:
        expected = partition(self.region)
        out = []
        for section, key in ARN_KEYS:
            arn = getattr(getattr(self, section), key)
            named = arn.split(":")[1] if arn.count(":") >= 2 else None
            if arn and named != expected:
                out.append((f"{section}.{key}", f"is an ARN of the {named} partition, but region {self.region} is in {expected}: "
                                                f"use an arn:{expected}: ARN of the same partition"))
        return out

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        """A region that offers every service the stacks use (bundled list, see data/regions.json)."""
        if value not in zones_by_region():
            rules([("region", f"{value[:40]!r} is not a region that offers every service used (known: {', '.join(known_regions())})")])
        return value

    @field_validator("network")
    @classmethod
    def _zones_of_region(cls, network: Network, info: ValidationInfo) -> Network:
        """Each zone is one of the region's (skipped when the region itself is wrong); zones left
        out are the region's first two, as listed in data/regions.json."""
        region = info.data.get("region")
        if region is None:
            return network
        zones = zones_by_region()[region]
        if network.availability_zones is None:
            return network.model_copy(update={"availability_zones": default_zones(region)})
        rules([
            (f"network.availability_zones[{i}]", f"{az[:40]!r} is not a zone of {region} (its zones: {', '.join(zones)})")
            for i, az in enumerate(network.availability_zones)
            if az not in zones
        ])  # fmt: skip
        return network

    @field_validator("registry", "cluster", "service")
    @classmethod
    def _derived_names(cls, section: Registry | Cluster | Service, info: ValidationInfo):
        """Names left out are derived from project + environment (config.names)."""
        key = "repository_name" if isinstance(section, Registry) else "name"
        project, environment = info.data.get("project"), info.data.get("environment")
        if getattr(section, key) is not None or project is None or environment is None:
            return section
        return section.model_copy(update={key: prefix(project, environment)})

    @field_validator("dns")
    @classmethod
    def _derived_api_domain(cls, dns: Dns, info: ValidationInfo) -> Dns:
        """An API name left out is derived from the environment (config.names.api_domain)."""
        environment = info.data.get("environment")
        if dns.api_domain is not None or environment is None:
            return dns
        derived = api_domain(environment, dns.zone_name, PRODUCTION_NAMES)
        if len(derived) > 253:  # RFC 1035
            rules([("dns.api_domain", f"the derived name {derived[:40]}... is over DNS's 253 characters; set a shorter one")])
        return dns.model_copy(update={"api_domain": derived})

    @field_validator("delivery")
    @classmethod
    def _ci_tags_not_redeployed(cls, delivery: Delivery, info: ValidationInfo) -> Delivery:
        """A CI that deploys pushes tags the redeploy function ignores (one deploy per release)."""
        registry = info.data.get("registry")
        tag_prefix = registry.redeploy_tag_prefix if registry is not None else ""
        if delivery.enabled and delivery.release == "deploy" and tag_prefix and (CI_TAG_PREFIX.startswith(tag_prefix) or tag_prefix.startswith(CI_TAG_PREFIX)):
            rules([("registry.redeploy_tag_prefix", f"{tag_prefix!r} overlaps {CI_TAG_PREFIX!r}, the tags CI pushes and deploys with "
                                                    "delivery.release: deploy; choose another prefix or release: redeploy")])
        return delivery

    @field_validator("database", "load_balancer")
    @classmethod
    def _production_defaults(cls, section: Database | LoadBalancer, info: ValidationInfo):
        """Deletion protection (and the database's final snapshot) left out follow `production`."""
        keys = ("deletion_protection", "final_snapshot") if isinstance(section, Database) else ("deletion_protection",)
        production = info.data.get("production")
        if production is None:
            return section
        return section.model_copy(update={k: production for k in keys if getattr(section, k) is None})

    @field_validator("service")
    @classmethod
    def _spot_drain(cls, service: Service, info: ValidationInfo) -> Service:
        """Under Fargate Spot the target group must drain within the two-minute warning."""
        lb = info.data.get("load_balancer")
        spot = service.capacity.spot_weight > 0 or service.capacity.spot_base > 0
        if lb is not None and spot and lb.deregistration_delay_seconds > SPOT_DRAIN_SECONDS:
            rules([(
                "load_balancer.deregistration_delay_seconds",
                f"must be 0-{SPOT_DRAIN_SECONDS} with Fargate Spot (tasks get a 2-minute warning), got {lb.deregistration_delay_seconds}",
            )])  # fmt: skip
        return service
