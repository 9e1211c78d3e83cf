"""The typed configuration: frozen dataclasses whose defaults reproduce the seed deployment.

`load(path)` merges a YAML file onto the defaults and rejects unknown keys by their dotted path;
`validate(cfg)` returns every problem at once. Each problem is a `ConfigError` whose `key` is the
dotted config key, so the command line can print `error: <key>: <what is wrong and what is allowed>`.

Values marked "seed" equal the Terraform deployment this project rebuilds
(`reference/seed-inventory.md`). Where the seed was insecure or fragile, the default is the better
practice and the comment says "fix" and why; the README lists every such difference.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from enrollcfn.errors import ConfigError


# --------------------------------------------------------------------------------------------
# The schema
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    """VPC layout: two AZs, one public and one private subnet in each."""

    vpc_cidr: str = "192.168.0.0/24"  # seed
    availability_zones: tuple[str, ...] = ("ap-southeast-2a", "ap-southeast-2b")  # seed
    public_subnets: tuple[str, ...] = ("192.168.0.0/26", "192.168.0.64/26")  # seed
    private_subnets: tuple[str, ...] = ("192.168.0.128/26", "192.168.0.192/26")  # seed
    nat_gateways: str = "single"  # seed: one NAT in the first AZ; per_az for AZ-independent egress
    s3_gateway_endpoint: bool = True  # seed
    flow_logs_traffic: str = "REJECT"  # fix: the seed had no flow logs (EC2.6)


@dataclass(frozen=True)
class Dns:
    """The existing public hosted zone and the API's name in it."""

    zone_name: str = "martincaringal.co.nz"  # seed (pre-existing zone, not created here)
    hosted_zone_id: str = "Z0000000000000000000"  # placeholder: set the real zone id per deployment
    api_domain: str = "server.martincaringal.co.nz"  # seed


@dataclass(frozen=True)
class Registry:
    """The ECR repository the service pulls from (created by the bootstrap stack)."""

    repository_name: str = "student-enrollment-laravel-api"  # seed
    keep_images: int = 30  # seed lifecycle rule "Keep last 30 images"
    scan_on_push: bool = True  # seed
    # seed: MUTABLE. Redeploy-on-push follows a moving tag, so immutability would break it;
    # ECS resolves the tag to a digest per deployment, so one rollout never mixes images.
    image_tag_mutability: str = "MUTABLE"


@dataclass(frozen=True)
class Cluster:
    """The ECS cluster."""

    name: str = "laravel-node"  # seed
    container_insights: bool = True  # seed


@dataclass(frozen=True)
class HealthCheck:
    """Target-group health check."""

    path: str = "/"  # seed (the session-free /api/hello-world would be cheaper)
    interval_seconds: int = 15  # seed
    timeout_seconds: int = 5  # seed
    healthy_threshold: int = 2  # seed
    unhealthy_threshold: int = 2  # seed
    matcher: str = "200"  # seed


@dataclass(frozen=True)
class LoadBalancer:
    """Internet-facing ALB, its target group and listeners."""

    # fix: the seed used ELBSecurityPolicy-TLS-1-2-2017-01, which fails Security Hub ELB.17.
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    health_check: HealthCheck = field(default_factory=HealthCheck)
    deregistration_delay_seconds: int = 30  # seed
    slow_start_seconds: int = 60  # seed
    stickiness_cookie: str = "laravel_session"  # seed (app_cookie stickiness)
    stickiness_seconds: int = 86400  # seed
    idle_timeout_seconds: int = 60  # seed (AWS default)
    deletion_protection: bool = True  # fix: seed had it off (ELB.6)
    access_log_retention_days: int = 90  # fix: the seed had no access logs (ELB.5)


@dataclass(frozen=True)
class Capacity:
    """Capacity-provider strategy of the service."""

    fargate_base: int = 2  # seed
    fargate_weight: int = 1  # seed
    spot_base: int = 0  # seed
    spot_weight: int = 3  # seed


@dataclass(frozen=True)
class Scaling:
    """Target-tracking autoscaling of the service's desired count."""

    cpu_target: int = 70  # seed
    memory_target: int = 80  # seed
    requests_per_target: int = 1000  # seed
    scale_in_cooldown: int = 300  # seed
    scale_out_cooldown: int = 60  # seed


# The seed's plain container environment (task-definition.tf, values from terraform.tfvars),
# less what is now injected: DB_HOST comes from the database stack, DB_USERNAME/DB_PASSWORD from
# the RDS-managed secret, and APP_URL from the API domain. AWS_ACCESS_KEY_ID/SECRET are gone
# (the task role grants S3 and Rekognition), and VITE_PUSHER_APP_KEY moved to the secret.
SEED_ENVIRONMENT: dict[str, str] = {
    "APP_NAME": "Laravel",
    "APP_ENV": "production",
    "APP_DEBUG": "false",
    "LOG_CHANNEL": "stack",
    "LOG_DEPRECATIONS_CHANNEL": "null",
    "LOG_LEVEL": "debug",
    "DB_CONNECTION": "mysql",
    "DB_PORT": "3306",
    "DB_DATABASE": "collage",
    "BROADCAST_DRIVER": "log",
    "CACHE_DRIVER": "file",
    "FILESYSTEM_DISK": "s3",
    "QUEUE_CONNECTION": "sync",
    "SESSION_DRIVER": "file",
    "SESSION_LIFETIME": "120",
    "REDIS_HOST": "127.0.0.1",
    "REDIS_PORT": "6379",
    "MEMCACHED_HOST": "127.0.0.1",
    "MAIL_MAILER": "smtp",
    "MAIL_HOST": "mailpit",
    "MAIL_PORT": "1025",
    "MAIL_USERNAME": "null",
    "MAIL_ENCRYPTION": "null",
    "MAIL_FROM_ADDRESS": "hello@example.com",
    "MAIL_FROM_NAME": "Laravel",
    "AWS_DEFAULT_REGION": "ap-southeast-2",
    "AWS_BUCKET": "caringaldevops",
    "AWS_USE_PATH_STYLE_ENDPOINT": "false",
    "CLOUDFRONT_DOMAIN": "enrollment.martincaringal.co.nz",
    "PUSHER_APP_ID": "",
    "PUSHER_HOST": "",
    "PUSHER_PORT": "443",
    "PUSHER_SCHEME": "https",
    "PUSHER_APP_CLUSTER": "mt1",
    "VITE_PUSHER_HOST": "",
    "VITE_PUSHER_PORT": "443",
    "VITE_PUSHER_SCHEME": "https",
    "VITE_PUSHER_APP_CLUSTER": "mt1",
}

# Keys of the application secret. Values are never in config: APP_KEY is generated by Secrets
# Manager, the rest are set by the operator after the first deploy.
SEED_SECRETS: tuple[str, ...] = (
    "APP_KEY",
    "MAIL_PASSWORD",
    "REDIS_PASSWORD",
    "PUSHER_APP_KEY",
    "PUSHER_APP_SECRET",
    "VITE_PUSHER_APP_KEY",
)


@dataclass(frozen=True)
class Service:
    """The Fargate service, its task and what the application may call."""

    name: str = "student-enrollment-service"  # seed
    cpu: int = 1024  # seed
    memory: int = 2048  # seed
    container_port: int = 80  # seed
    min_tasks: int = 2  # seed
    max_tasks: int = 20  # seed
    image_tag: str = "latest"  # seed (the redeploy rule follows this tag)
    health_check_grace_seconds: int = 120  # fix: the seed had none while migrations run at boot
    # ECS Exec (`enrollcfn exec`): a shell in production tasks is off unless chosen (config/dev.yaml turns it on).
    exec_enabled: bool = False
    capacity: Capacity = field(default_factory=Capacity)
    scaling: Scaling = field(default_factory=Scaling)
    environment: dict[str, str] = field(default_factory=lambda: dict(SEED_ENVIRONMENT))
    secrets: tuple[str, ...] = SEED_SECRETS
    # fix: the seed used an IAM user's access keys; the task role grants these instead.
    app_bucket: str = "caringaldevops"
    app_bucket_prefixes: tuple[str, ...] = ("avatar_images/", "student_files/")


@dataclass(frozen=True)
class Database:
    """RDS MySQL."""

    # fix: the seed's 8.0.35 is retired and 8.0 bills Extended Support; 8.4 is the LTS line.
    engine_version: str = "8.4.7"
    instance_class: str = "db.t3.micro"  # seed
    allocated_storage_gb: int = 20  # seed
    max_allocated_storage_gb: int = 100  # fix: the seed had no storage autoscaling
    storage_type: str = "gp3"  # fix: seed gp2; gp3 is cheaper per GB with a 3000 IOPS baseline
    multi_az: bool = False  # seed (turn on for AZ-independent production)
    backup_retention_days: int = 7  # seed
    backup_window: str = "03:00-04:00"  # seed
    maintenance_window: str = "mon:04:00-mon:05:00"  # seed
    name: str = "collage"  # seed
    master_username: str = "collage_admin"  # fix: seed "admin" is the engine default (RDS.25)


@dataclass(frozen=True)
class Logs:
    """CloudWatch Logs."""

    retention_days: int = 30  # seed


@dataclass(frozen=True)
class Monitoring:
    """Alarms and the monthly budget."""

    alarm_email: str = ""  # fix: the seed had no alarms; no subscription when empty
    monthly_budget_usd: float = 0.0  # seed practice (budget = estimate); 0: the cost estimate, rounded up


@dataclass(frozen=True)
class Config:
    """The whole deployment."""

    project: str = "student-enrollment"  # seed
    environment: str = "production"  # seed
    region: str = "ap-southeast-2"  # seed
    network: Network = field(default_factory=Network)
    dns: Dns = field(default_factory=Dns)
    registry: Registry = field(default_factory=Registry)
    cluster: Cluster = field(default_factory=Cluster)
    load_balancer: LoadBalancer = field(default_factory=LoadBalancer)
    service: Service = field(default_factory=Service)
    database: Database = field(default_factory=Database)
    logs: Logs = field(default_factory=Logs)
    monitoring: Monitoring = field(default_factory=Monitoring)


# --------------------------------------------------------------------------------------------
# Loading: YAML overrides onto the defaults
# --------------------------------------------------------------------------------------------


def load(path: str | Path | None) -> Config:
    """Read a YAML file of overrides and merge it onto `Config()`.

    Mappings merge key by key; lists replace the default; in `service.environment` a null value
    removes a default variable. Raises `ConfigError` naming the dotted key of the first problem
    (unknown key, wrong type) and `ConfigError` with key "config" when the file is unreadable.
    """
    if path is None:
        return Config()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("config", f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError("config", f"{path} is not valid YAML{where}") from None
    if data is None:
        return Config()
    return _merge(Config(), data, "")


def _merge(current: object, data: object, path: str) -> object:
    """Return a copy of dataclass `current` with the values in mapping `data` applied."""
    cls = type(current)
    if not isinstance(data, dict):
        raise ConfigError(path or "config", f"expected a mapping of keys, got {_show(data)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    changes = {}
    for key, value in data.items():
        dotted = f"{path}.{key}" if path else str(key)
        if key not in names:
            raise ConfigError(dotted, f"unknown key (allowed here: {', '.join(names)})")
        changes[key] = _coerce(getattr(current, key), value, hints[key], dotted)
    return dataclasses.replace(current, **changes)


def _coerce(default: object, value: object, hint: object, key: str) -> object:
    """Convert one YAML value to the field's declared type, or raise naming the key."""
    if dataclasses.is_dataclass(hint):
        return _merge(default, value, key)
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, f"expected a list of strings, got {_show(value)}")
        return tuple(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping of NAME: value, got {_show(value)}")
        merged = dict(default)  # type: ignore[call-overload]
        for name, item in value.items():
            if item is None:
                merged.pop(str(name), None)
            elif isinstance(item, (dict, list)):
                raise ConfigError(f"{key}.{name}", f"expected a plain value, got {_show(item)}")
            else:
                merged[str(name)] = _scalar_text(item)
        return merged
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {_show(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected a whole number, got {_show(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"expected a number, got {_show(value)}")
        return float(value)
    if hint is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(key, f"expected a string, got {_show(value)}")
        return _scalar_text(value)
    raise TypeError(f"unsupported config type {hint!r} for {key}")  # a schema bug, not input


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


def to_dict(cfg: Config) -> dict:
    """The config as plain data (lists for tuples), for YAML or JSON output."""

    def plain(v: object) -> object:
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in dataclasses.asdict(cfg).items()}


# --------------------------------------------------------------------------------------------
# Validation: every problem at once
# --------------------------------------------------------------------------------------------

# Fargate task sizes (reference/security.md 6.1, up to 16 vCPU; 32 vCPU is not in every region).
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: (1024, 2048, 3072, 4096),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

NAT_MODES = ("single", "per_az")
FLOW_LOG_TRAFFIC = ("ACCEPT", "REJECT", "ALL")
IMAGE_TAG_MUTABILITY = ("MUTABLE", "IMMUTABLE")

# TLS 1.3-capable policies AWS recommends for HTTPS listeners (Security Hub ELB.17).
TLS13_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
)

# Every service the stacks use must exist in the region.
REGION_SERVICES = (  # endpoint prefixes of the regional services the stacks use (Route53 is global)
    "ecs", "api.ecr", "elasticloadbalancing", "rds", "acm", "secretsmanager", "events", "lambda",
    "application-autoscaling", "logs", "cloudformation", "sqs", "sns", "monitoring",  # Budgets is global
)  # fmt: skip

_SECRET_NAME = re.compile(r"(^|_)(PASSWORD|PASSWD|PASS|SECRET|KEY|TOKEN|CREDENTIALS?)(_|$)")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_ECR_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_ZONE_ID = re.compile(r"^[A-Z0-9]{1,32}$")  # the id, not "/hostedzone/ID"
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@functools.cache
def known_regions() -> tuple[str, ...]:
    """Regions where every service the stacks use is available (botocore's endpoint data, read
    once; loading each service model to ask a session would cost ten times as much)."""
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(create_loader().load_data("endpoints"))
    sets = [set(resolver.get_available_endpoints(prefix)) for prefix in REGION_SERVICES]
    return tuple(sorted(set.intersection(*sets)))


def validate(cfg: Config) -> list[ConfigError]:
    """Every problem in `cfg`, each naming its dotted key; empty when the config is usable."""
    problems: list[ConfigError] = []
    for check in (_check_names, _check_network, _check_dns, _check_service, _check_lb, _check_db, _check_monitoring):
        problems.extend(check(cfg))
    return problems


def _check_names(cfg: Config) -> list[ConfigError]:
    out = []
    if not _NAME.match(cfg.project):
        out.append(ConfigError("project", "use 2-32 lower-case letters, digits and hyphens, starting with a letter"))
    if not _NAME.match(cfg.environment):
        out.append(ConfigError("environment", "use 2-32 lower-case letters, digits and hyphens, starting with a letter"))
    regions = known_regions()
    if cfg.region not in regions:
        out.append(ConfigError("region", f"{cfg.region!r} is not a region that offers every service used (known: {', '.join(regions)})"))
    if not _ECR_NAME.match(cfg.registry.repository_name) or not 2 <= len(cfg.registry.repository_name) <= 256:
        out.append(ConfigError("registry.repository_name", "use 2-256 lower-case letters and digits separated by '.', '_', '-' or '/'"))
    if not 1 <= cfg.registry.keep_images <= 1000:
        out.append(ConfigError("registry.keep_images", f"must be 1-1000, got {cfg.registry.keep_images}"))
    if cfg.registry.image_tag_mutability not in IMAGE_TAG_MUTABILITY:
        out.append(ConfigError("registry.image_tag_mutability", f"must be one of {', '.join(IMAGE_TAG_MUTABILITY)}"))
    if not re.match(r"^[A-Za-z0-9_-]{1,255}$", cfg.cluster.name):
        out.append(ConfigError("cluster.name", "use 1-255 letters, digits, hyphens and underscores"))
    if cfg.logs.retention_days not in LOG_RETENTION_DAYS:
        out.append(ConfigError("logs.retention_days", f"CloudWatch accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}; got {cfg.logs.retention_days}"))
    return out


def _network(cidr: str, key: str, out: list[ConfigError]) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(cidr, strict=True)
    except ipaddress.AddressValueError:
        out.append(ConfigError(key, f"{cidr!r} is not an IPv4 CIDR such as 10.0.0.0/24"))
    except ValueError as exc:
        if "host bits set" in str(exc):
            net = ipaddress.IPv4Network(cidr, strict=False)
            out.append(ConfigError(key, f"{cidr} has host bits set; the network is {net}"))
        else:
            out.append(ConfigError(key, f"{cidr!r} is not an IPv4 CIDR such as 10.0.0.0/24"))
    return None


def _check_network(cfg: Config) -> list[ConfigError]:
    out: list[ConfigError] = []
    n = cfg.network
    vpc = _network(n.vpc_cidr, "network.vpc_cidr", out)
    if vpc is not None and not 16 <= vpc.prefixlen <= 28:
        out.append(ConfigError("network.vpc_cidr", f"a VPC prefix must be /16 to /28, got /{vpc.prefixlen}"))
    azs = n.availability_zones
    if len(azs) != 2:
        out.append(ConfigError("network.availability_zones", f"exactly 2 zones are needed, got {len(azs)}"))
    elif azs[0] == azs[1]:
        out.append(ConfigError("network.availability_zones", f"zones must be distinct, got {azs[0]} twice"))
    for i, az in enumerate(azs):
        if not re.fullmatch(re.escape(cfg.region) + r"[a-z]", az):
            out.append(ConfigError(f"network.availability_zones[{i}]", f"{az!r} is not a zone of {cfg.region} (expected {cfg.region}a, {cfg.region}b, ...)"))
    if n.nat_gateways not in NAT_MODES:
        out.append(ConfigError("network.nat_gateways", f"must be one of {', '.join(NAT_MODES)}, got {n.nat_gateways!r}"))
    if n.flow_logs_traffic not in FLOW_LOG_TRAFFIC:
        out.append(ConfigError("network.flow_logs_traffic", f"must be one of {', '.join(FLOW_LOG_TRAFFIC)}"))
    subnets: list[tuple[str, ipaddress.IPv4Network]] = []
    for kind in ("public_subnets", "private_subnets"):
        cidrs = getattr(n, kind)
        if len(cidrs) != len(azs):
            out.append(ConfigError(f"network.{kind}", f"one subnet per availability zone is needed ({len(azs)}), got {len(cidrs)}"))
        for i, cidr in enumerate(cidrs):
            key = f"network.{kind}[{i}]"
            net = _network(cidr, key, out)
            if net is None:
                continue
            if not 16 <= net.prefixlen <= 28:
                out.append(ConfigError(key, f"a subnet prefix must be /16 to /28, got /{net.prefixlen}"))
            elif vpc is not None and not net.subnet_of(vpc):
                out.append(ConfigError(key, f"{net} is outside the VPC {vpc}"))
            for other_key, other in subnets:
                if net.overlaps(other):
                    out.append(ConfigError(key, f"{net} overlaps {other_key} ({other})"))
            subnets.append((key, net))
    return out


def _domain_problem(name: str) -> str | None:
    if name != name.lower() or name.endswith("."):
        return "write it in lower case without a trailing dot"
    if len(name) > 253:
        return "a domain name is at most 253 characters"
    labels = name.split(".")
    if len(labels) < 2:
        return "a domain name needs at least two labels, such as example.com"
    for label in labels:
        if not _LABEL.match(label):
            return f"label {label!r} must be 1-63 of a-z, 0-9 and '-', not starting or ending with '-'"
    return None


def _check_dns(cfg: Config) -> list[ConfigError]:
    out = []
    d = cfg.dns
    for key, name in (("dns.zone_name", d.zone_name), ("dns.api_domain", d.api_domain)):
        problem = _domain_problem(name)
        if problem:
            out.append(ConfigError(key, f"{name!r} is not a valid domain name: {problem}"))
    if not any(e.key == "dns.api_domain" for e in out):
        if d.api_domain != d.zone_name and not d.api_domain.endswith("." + d.zone_name):
            out.append(ConfigError("dns.api_domain", f"{d.api_domain} is not in the hosted zone {d.zone_name}"))
        elif d.api_domain.count(".") > d.zone_name.count(".") + 1:
            out.append(ConfigError("dns.api_domain", f"the certificate covers {d.zone_name} and *.{d.zone_name}; use one label under the zone"))
    if not _ZONE_ID.match(d.hosted_zone_id):
        out.append(ConfigError("dns.hosted_zone_id", f"{d.hosted_zone_id!r} is not a Route53 hosted zone id (upper-case letters and digits, e.g. Z0123456789ABCDEFGHIJ)"))
    return out


def _check_service(cfg: Config) -> list[ConfigError]:
    out = []
    s = cfg.service
    if s.cpu not in FARGATE_MEMORY:
        out.append(ConfigError("service.cpu", f"Fargate offers cpu {', '.join(map(str, FARGATE_MEMORY))}; got {s.cpu}"))
    elif s.memory not in FARGATE_MEMORY[s.cpu]:
        allowed = FARGATE_MEMORY[s.cpu]
        shown = ", ".join(map(str, allowed)) if len(allowed) <= 8 else f"{allowed[0]}-{allowed[-1]} in steps of {allowed[1] - allowed[0]}"
        out.append(ConfigError("service.memory", f"Fargate has no {s.cpu} cpu / {s.memory} MiB size; with cpu {s.cpu} use {shown}"))
    if not 1 <= s.container_port <= 65535:
        out.append(ConfigError("service.container_port", f"must be 1-65535, got {s.container_port}"))
    if s.min_tasks < 1:
        out.append(ConfigError("service.min_tasks", f"must be at least 1, got {s.min_tasks}"))
    if s.min_tasks > s.max_tasks:
        out.append(ConfigError("service.min_tasks", f"min_tasks ({s.min_tasks}) is greater than max_tasks ({s.max_tasks})"))
    if not _IMAGE_TAG.match(s.image_tag):
        out.append(ConfigError("service.image_tag", "an image tag is 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"))
    if not 0 <= s.health_check_grace_seconds <= 2147483647:
        out.append(ConfigError("service.health_check_grace_seconds", "must be 0 or more"))
    for name in ("cpu_target", "memory_target"):
        value = getattr(s.scaling, name)
        if not 1 <= value <= 100:
            out.append(ConfigError(f"service.scaling.{name}", f"a utilisation target must be 1-100 (percent), got {value}"))
    if s.scaling.requests_per_target < 1:
        out.append(ConfigError("service.scaling.requests_per_target", f"must be at least 1, got {s.scaling.requests_per_target}"))
    for name in ("scale_in_cooldown", "scale_out_cooldown"):
        if getattr(s.scaling, name) < 0:
            out.append(ConfigError(f"service.scaling.{name}", "a cooldown must be 0 seconds or more"))
    c = s.capacity
    if min(c.fargate_base, c.fargate_weight, c.spot_base, c.spot_weight) < 0:
        out.append(ConfigError("service.capacity", "bases and weights must be 0 or more"))
    if c.fargate_weight + c.spot_weight == 0:
        out.append(ConfigError("service.capacity", "at least one of fargate_weight and spot_weight must be above 0"))
    if c.fargate_base and c.spot_base:
        out.append(ConfigError("service.capacity.spot_base", "only one capacity provider may have a base; keep the base on FARGATE"))
    for name, value in s.environment.items():
        key = f"service.environment.{name}"
        if not _ENV_NAME.match(name):
            out.append(ConfigError(key, "a variable name is letters, digits and underscores, not starting with a digit"))
        elif _SECRET_NAME.search(name.upper()):
            out.append(ConfigError(key, "looks like a secret; list its name under service.secrets and set the value in Secrets Manager"))
    for i, name in enumerate(s.secrets):
        if not _ENV_NAME.match(name):
            out.append(ConfigError(f"service.secrets[{i}]", f"{name!r} is not a variable name"))
        elif name in s.environment:
            out.append(ConfigError(f"service.secrets[{i}]", f"{name} is also in service.environment; keep it in one place"))
    return out


def _check_lb(cfg: Config) -> list[ConfigError]:
    out = []
    lb = cfg.load_balancer
    hc = lb.health_check
    if lb.ssl_policy not in TLS13_POLICIES:
        out.append(ConfigError("load_balancer.ssl_policy", f"{lb.ssl_policy} is not a TLS 1.3 policy AWS recommends (Security Hub ELB.17); use one of {', '.join(TLS13_POLICIES)}"))
    if not hc.path.startswith("/"):
        out.append(ConfigError("load_balancer.health_check.path", "must start with '/'"))
    if not 5 <= hc.interval_seconds <= 300:
        out.append(ConfigError("load_balancer.health_check.interval_seconds", f"must be 5-300, got {hc.interval_seconds}"))
    if not 2 <= hc.timeout_seconds <= 120:
        out.append(ConfigError("load_balancer.health_check.timeout_seconds", f"must be 2-120, got {hc.timeout_seconds}"))
    elif hc.timeout_seconds >= hc.interval_seconds:
        out.append(ConfigError("load_balancer.health_check.timeout_seconds", f"must be less than interval_seconds ({hc.interval_seconds}), got {hc.timeout_seconds}"))
    for name in ("healthy_threshold", "unhealthy_threshold"):
        value = getattr(hc, name)
        if not 2 <= value <= 10:
            out.append(ConfigError(f"load_balancer.health_check.{name}", f"must be 2-10, got {value}"))
    if not re.fullmatch(r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*", hc.matcher):
        out.append(ConfigError("load_balancer.health_check.matcher", "use HTTP codes such as 200, 200,301 or 200-299"))
    spot = cfg.service.capacity.spot_weight > 0 or cfg.service.capacity.spot_base > 0
    limit = 120 if spot else 3600
    if not 0 <= lb.deregistration_delay_seconds <= limit:
        why = " with Fargate Spot (tasks get a 2-minute warning)" if spot else ""
        out.append(ConfigError("load_balancer.deregistration_delay_seconds", f"must be 0-{limit}{why}, got {lb.deregistration_delay_seconds}"))
    if not (lb.slow_start_seconds == 0 or 30 <= lb.slow_start_seconds <= 900):
        out.append(ConfigError("load_balancer.slow_start_seconds", f"must be 0 or 30-900, got {lb.slow_start_seconds}"))
    if not 1 <= lb.stickiness_seconds <= 604800:
        out.append(ConfigError("load_balancer.stickiness_seconds", f"must be 1-604800, got {lb.stickiness_seconds}"))
    if not 1 <= lb.idle_timeout_seconds <= 4000:
        out.append(ConfigError("load_balancer.idle_timeout_seconds", f"must be 1-4000, got {lb.idle_timeout_seconds}"))
    if lb.access_log_retention_days < 1:
        out.append(ConfigError("load_balancer.access_log_retention_days", "must be at least 1"))
    return out


def supported_engine_versions() -> tuple[str, ...]:
    """MySQL versions cfn-lint accepts that RDS still offers: the 8.4 LTS line from 8.4.6 and 8.0
    from 8.0.42 (older minors, such as the seed's 8.0.35, are retired; 8.0 bills Extended Support
    since 2026-07-31)."""
    import json
    from importlib.resources import files

    schema = json.loads(files("cfnlint.data.schemas.extensions.aws_rds_dbinstance").joinpath("engine_version.json").read_text())
    for rule in schema["allOf"]:
        if rule.get("if", {}).get("properties", {}).get("Engine", {}).get("const") == "mysql":
            versions = rule["then"]["properties"]["EngineVersion"]["enum"]
            return tuple(v for v in versions if _minor(v) >= (8, 4, 6) or (8, 0, 42) <= _minor(v) < (8, 1, 0))
    return ()


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("-")[0].split("."))


# Names MySQL reserves or RDS refuses as the master user (RDS.25 also rejects the default "admin").
_RESERVED_USERS = {"admin", "root", "rdsadmin", "mysql", "user", "select", "insert", "update", "delete", "table", "database"}
_WINDOW = r"([01]\d|2[0-3]):[0-5]\d"
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"


def _check_db(cfg: Config) -> list[ConfigError]:
    out = []
    db = cfg.database
    versions = supported_engine_versions()
    if db.engine_version not in versions:
        latest = sorted(versions, key=_minor)[-3:]
        out.append(ConfigError("database.engine_version", f"MySQL {db.engine_version} is not offered by RDS (or not known to cfn-lint); use 8.4.x such as {', '.join(latest)}"))
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,15}", db.master_username):
        out.append(ConfigError("database.master_username", "RDS MySQL needs 1-16 letters, digits or '_', starting with a letter"))
    elif db.master_username.lower() in _RESERVED_USERS:
        out.append(ConfigError("database.master_username", f"{db.master_username!r} is reserved or the engine default (Security Hub RDS.25); choose another name"))
    if not re.fullmatch(r"db\.[a-z0-9]+\.[a-z0-9]+", db.instance_class):
        out.append(ConfigError("database.instance_class", f"{db.instance_class!r} is not an RDS instance class such as db.t3.micro"))
    if db.storage_type not in ("gp2", "gp3", "io1", "io2"):
        out.append(ConfigError("database.storage_type", "must be gp2, gp3, io1 or io2"))
    if not 20 <= db.allocated_storage_gb <= 65536:
        out.append(ConfigError("database.allocated_storage_gb", f"RDS MySQL storage is 20-65536 GiB, got {db.allocated_storage_gb}"))
    if db.max_allocated_storage_gb < db.allocated_storage_gb:
        out.append(ConfigError("database.max_allocated_storage_gb", f"must be at least allocated_storage_gb ({db.allocated_storage_gb})"))
    if not 1 <= db.backup_retention_days <= 35:
        out.append(ConfigError("database.backup_retention_days", f"must be 1-35, got {db.backup_retention_days}"))
    if not re.fullmatch(f"{_WINDOW}-{_WINDOW}", db.backup_window):
        out.append(ConfigError("database.backup_window", "use hh:mm-hh:mm in UTC, such as 03:00-04:00"))
    if not re.fullmatch(f"{_DAY}:{_WINDOW}-{_DAY}:{_WINDOW}", db.maintenance_window):
        out.append(ConfigError("database.maintenance_window", "use ddd:hh:mm-ddd:hh:mm in UTC, such as mon:04:00-mon:05:00"))
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", db.name):
        out.append(ConfigError("database.name", "1-64 letters, digits or '_', starting with a letter"))
    return out


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_monitoring(cfg: Config) -> list[ConfigError]:
    out = []
    m = cfg.monitoring
    if m.alarm_email and not _EMAIL.match(m.alarm_email):
        out.append(ConfigError("monitoring.alarm_email", f"{m.alarm_email!r} is not an email address; leave it empty for no subscription"))
    if m.monthly_budget_usd < 0:
        out.append(ConfigError("monitoring.monthly_budget_usd", "must be 0 (use the cost estimate) or a positive amount in USD"))
    return out
