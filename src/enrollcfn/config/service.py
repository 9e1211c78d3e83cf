"""The Fargate service: task size, counts, capacity providers, autoscaling, the container's
environment and secrets, and the S3 bucket and prefixes the application may use."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from enrollcfn.config import environment as env
from enrollcfn.config._base import Bool, INT32_MAX, Int, Section, Text, check, int_range, rules
from enrollcfn.inputs import key_part

# Fargate task sizes (Amazon ECS Developer Guide, "Task CPU and memory", up to 16 vCPU; 32 vCPU
# is not offered in every region). cpu units -> the memory sizes allowed with it, in MiB.
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: (1024, 2048, 3072, 4096),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# ECS service quotas: "Tasks per service" is 5,000 (the most a desired count may be).
TASKS_PER_SERVICE = 5000


def _bucket(name: str) -> str:
    """An S3 general purpose bucket name (Amazon S3 User Guide, "Bucket naming rules")."""
    problem = None
    if not 3 <= len(name) <= 63:
        problem = f"is {len(name)} characters; a bucket name is 3-63"
    elif not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        problem = "may hold only lower-case letters, digits, '.' and '-', starting and ending with a letter or digit"
    elif ".." in name:
        problem = "may not hold two adjacent periods"
    elif _is_ip(name):
        problem = "may not be formatted as an IP address"
    elif name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")):
        problem = "uses a prefix or suffix S3 reserves (xn--, sthree-, amzn-s3-demo-, -s3alias, --ol-s3, .mrap, --x-s3, --table-s3)"
    if problem:
        raise PydanticCustomError("bad_value", "{message}", {"message": f"{name[:70]!r} is not an S3 bucket name: it {problem}"})
    return name


def _is_root(user: str) -> bool:
    """`root`, uid 0 however written (`0`, `00`), with or without a group."""
    name = user.split(":")[0]
    return name == "root" or (name.isascii() and name.isdigit() and int(name) == 0)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


# The task role's grant is bucket/<prefix>*: a prefix must name a folder. An empty prefix, or one
# holding an IAM wildcard, would grant the whole bucket (or more); S3 keys are at most 1024 bytes.
# Printable ASCII only: the prefix is part of an IAM policy, which IAM compares as a string (a
# look-alike letter would grant another folder) and whose document takes no character past
# U+00FF (IAM API Reference, policyDocumentType).
Prefix = Annotated[
    Text,
    check(r"(?!/)[\x20-\x29\x2b-\x3e\x40-\x7e]{0,1022}[\x20-\x29\x2b-\x2e\x30-\x3e\x40-\x7e]/",
          "is not a folder prefix: use 2-1024 printable ASCII characters ending in '/', without '*' or '?' and not starting with '/'"),
]

# App Auto Scaling PolicyName is at most 256 characters and the scaling policies are named
# "<service>-requestcount"; ECS allows 255 (letters, digits, '-', '_').
ServiceName = Annotated[
    Text, check(r"[A-Za-z0-9_-]{1,242}", "is not an ECS service name: use 1-242 letters, digits, '-' and '_' (255 less the scaling policies' suffix)")
]

# ECR image tag: up to 128 characters; letters, digits, '_', '.', '-', not starting with '.' or '-'.
ImageTag = Annotated[Text, check(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", "is not an image tag: use 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")]


# A Linux user name (at most 32 characters) or a numeric uid, optionally with :group or :gid.
ContainerUser = Annotated[
    Text,
    check(r"([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})(:([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10}))?",
          "is not a user: use a user name or uid, optionally :group or :gid, e.g. www-data or 33:33"),
]
AbsolutePath = Annotated[Text, check(r"(/[A-Za-z0-9._-]+)+", "is not an absolute path such as /var/www/storage (letters, digits, '.', '_', '-')")]

# Where the init container fetches the RDS certificate bundle: https, or plain http on a loopback
# address (a local run serves its own CA). At most 2,048 characters.
BundleUrl = Annotated[
    Text,
    check(r"(https://[A-Za-z0-9.-]+(:[0-9]{1,5})?|http://(127\.0\.0\.1|localhost)(:[0-9]{1,5})?)/[A-Za-z0-9._~/%+-]{0,2000}",
          "is not an https URL (plain http only on 127.0.0.1 or localhost), e.g. https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"),
]

# The paths an ECS Exec session's SSM agent writes under a read-only root file system
# (aws/containers-roadmap #1359; amazon-ecs-exec-checker #21): task volumes when exec is on.
EXEC_AGENT_PATHS = ("/managed-agents", "/var/lib/amazon/ssm", "/var/log/amazon/ssm")

# Where the init container puts the RDS bundle in the application container (read-only there).
CA_BUNDLE_DIR = "/etc/ssl/rds"
CA_BUNDLE_FILE = f"{CA_BUNDLE_DIR}/rds-ca-bundle.pem"


class Init(Section):
    """An init container of the application's own image that runs before it in every task and
    makes the image work under a read-only root file system without rebuilding it: Fargate mounts
    each writable path as an empty root-owned directory unless the Dockerfile declares VOLUME
    there (the seed's declares none), so it copies the image's content and ownership in; it
    replaces log files by links to the container's stdout/stderr (the awslogs driver ships only
    those); and it fetches the RDS CA bundle, which the seed image lacks and without which
    Laravel does not use TLS (the parameter group requires it). Off for an image that does all
    of that itself (the hardened setting, docs/security.md "Running the seed application")."""

    enabled: Bool = True
    # None: the task's region's RDS bundle from AWS's trust store (RDS User Guide, "Using SSL/TLS
    # to encrypt a connection to a DB instance": https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem).
    ca_bundle_url: BundleUrl | None = None
    # The seed's nginx.conf logs to these files; as links to /dev/stdout and /dev/stderr they
    # reach CloudWatch (what the official nginx image does). Each must lie on a writable path.
    log_links: dict[AbsolutePath, Literal["stdout", "stderr"]] = Field(
        default_factory=lambda: {"/var/log/nginx/access.log": "stdout", "/var/log/nginx/error.log": "stderr"}, max_length=20
    )


class Capacity(Section):
    """Capacity-provider strategy of the service (ECS: base 0-100,000, weight 0-1,000)."""

    fargate_base: Annotated[Int, int_range(0, 100_000)] = 2  # seed
    fargate_weight: Annotated[Int, int_range(0, 1000)] = 1  # seed
    spot_base: Annotated[Int, int_range(0, 100_000)] = 0  # seed
    spot_weight: Annotated[Int, int_range(0, 1000)] = 3  # seed

    @model_validator(mode="after")
    def _strategy(self) -> Capacity:
        """ECS: some weight above 0, and only one provider of a strategy may have a base."""
        out = []
        if self.fargate_weight + self.spot_weight == 0:
            out.append(("service.capacity", "at least one of fargate_weight and spot_weight must be above 0"))
        if self.fargate_base and self.spot_base:
            out.append(("service.capacity.spot_base", "only one capacity provider may have a base; keep the base on FARGATE"))
        rules(out)
        return self


# ECS DeploymentConfiguration.Strategy ("Amazon ECS deployment types"; cfn-lint's schema of
# AWS::ECS::Service): ROLLING replaces tasks behind the one target group; BLUE_GREEN, LINEAR and
# CANARY start the new revision behind a second target group and move the production listener
# rule's traffic to it (all at once, in steps, or a share first), then bake before the old tasks go.
Strategy = Literal["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"]
Percent = Annotated[float, Field(ge=0.1, le=100, multiple_of=0.1)]


class Deployment(Section):
    """How a release moves traffic, and what rolls it back.

    Left out, `strategy` follows `production`: CANARY there (a tenth of the traffic for
    canary_bake_minutes, then all of it, then bake_minutes before the old tasks stop), ROLLING
    elsewhere. Every strategy keeps the circuit breaker (tasks that fail their health check roll
    the release back); with `alarms`, a target 5xx rate or a slow p90 response time during the
    release rolls it back too."""

    strategy: Strategy | None = None
    # BakeTimeInMinutes, 0-1440: how long the new revision serves all traffic while the old one
    # can still take it back. Left out: 10 for the progressive strategies, none for ROLLING.
    bake_minutes: Annotated[Int, int_range(0, 1440)] | None = None
    canary_percent: Percent = 10.0  # CanaryPercent: 0.1-100, in steps of 0.1 (ECS default 5)
    canary_bake_minutes: Annotated[Int, int_range(0, 1440)] = 5  # CanaryBakeTimeInMinutes (ECS default 10)
    linear_step_percent: Annotated[float, Field(ge=3, le=100, multiple_of=0.1)] = 25.0  # StepPercent: 3-100 (ECS default 10)
    linear_step_bake_minutes: Annotated[Int, int_range(0, 1440)] = 2  # StepBakeTimeInMinutes (ECS default 6)
    alarms: Bool = True  # DeploymentConfiguration.Alarms with Rollback
    errors_per_minute: Annotated[Int, int_range(1, 100_000)] = 10  # target 5xx responses a minute, two minutes running
    p90_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0  # TargetResponseTime p90, three minutes running

    @model_validator(mode="after")
    def _within_cloudformation(self) -> Deployment:
        """CloudFormation refuses a canary or linear deployment whose computed time exceeds 33 hours
        (cfn-lint's schema of AWS::ECS::Service, CanaryConfiguration and LinearConfiguration)."""
        bake = self.bake_minutes or 0
        steps = int(100 // self.linear_step_percent) - (1 if (100 / self.linear_step_percent).is_integer() else 0)
        minutes = {"CANARY": bake + self.canary_bake_minutes, "LINEAR": bake + self.linear_step_bake_minutes * steps}.get(self.strategy or "", 0)
        if minutes > 33 * 60:
            rules([("service.deployment", f"a {self.strategy.lower()} release would take {minutes} minutes of bake time; CloudFormation "
                                          "refuses more than 33 hours (1980 minutes): lower bake_minutes or the step or canary bake")])
        return self

    def resolved(self, production: bool) -> tuple[str, int | None]:
        """(strategy, bake minutes) after the production defaults."""
        strategy = self.strategy or ("CANARY" if production else "ROLLING")
        bake = self.bake_minutes if self.bake_minutes is not None else (None if strategy == "ROLLING" else 10)
        return strategy, bake

    def progressive(self, production: bool) -> bool:
        """Whether a release moves traffic between two target groups (all but ROLLING): the load
        balancer then has the alternate group and rules, the service the role that moves them."""
        return self.resolved(production)[0] != "ROLLING"


class Scaling(Section):
    """Target-tracking autoscaling of the service's desired count."""

    cpu_target: Annotated[Int, int_range(1, 100)] = 70  # seed; a utilisation target in percent
    memory_target: Annotated[Int, int_range(1, 100)] = 80  # seed; a utilisation target in percent
    requests_per_target: Annotated[Int, int_range(1, INT32_MAX)] = 1000  # seed
    scale_in_cooldown: Annotated[Int, int_range(0, INT32_MAX)] = 300  # seed; seconds (Integer)
    scale_out_cooldown: Annotated[Int, int_range(0, INT32_MAX)] = 60  # seed; seconds (Integer)


class Service(Section):
    """The Fargate service, its task and what the application may call."""

    name: ServiceName | None = None  # fix: seed "student-enrollment-service"; left out, `<project>-<environment>` (config.names)
    cpu: Int = 1024  # seed
    # The task's RuntimePlatform.CpuArchitecture; the image must be built for it (deploy's
    # preflight reads the image's architecture). ARM64 (Graviton) is priced about 20 % lower.
    cpu_architecture: Literal["X86_64", "ARM64"] = "X86_64"  # seed: x86_64
    memory: Int = 2048  # seed
    # seed 80: the seed image's nginx listens there, as root. A non-root process cannot bind below
    # 1024 on Fargate, which adds no capability but SYS_PTRACE (ECS KernelCapabilities): the
    # hardened setting uses 8080 (docs/security.md "Running the seed application").
    container_port: Annotated[Int, int_range(1, 65535)] = 80
    min_tasks: Annotated[Int, int_range(1, TASKS_PER_SERVICE)] = 2  # seed
    max_tasks: Annotated[Int, int_range(1, TASKS_PER_SERVICE)] = 20  # seed
    image_tag: ImageTag = "latest"  # seed: the tag the first deploy runs; later releases push redeploy_tag_prefix tags
    # None: the image's own user (the seed image has no USER: root, whose nginx master binds 80
    # and runs its workers and php-fpm's as www-data). The hardened setting names a non-root
    # user the image defines, or uid[:gid] (Security Hub ECS.20).
    container_user: ContainerUser | None = None
    # Writable ephemeral volumes under a read-only root file system (ECS.5), at the seed image's
    # application root /var/www: Laravel's storage/ and bootstrap/cache, /tmp (PHP's uploads),
    # and what the seed's nginx writes as root: its log files, its temp paths and its pid file.
    writable_paths: Annotated[tuple[AbsolutePath, ...], Field(min_length=1, max_length=20)] = (
        "/var/www/storage", "/var/www/bootstrap/cache", "/tmp", "/var/log/nginx", "/var/lib/nginx", "/run",
    )
    # The container's ENTRYPOINT and CMD, replacing the image's (None keeps the image's). The
    # seed's entrypoint runs `php artisan migrate --force` in every task that starts, so tasks
    # race on every deploy and scale-out; this runs what it runs after that, and migrations run
    # once per release (migrate_command). /usr/bin/env runs whatever command a one-off task gives.
    entrypoint: Annotated[tuple[Text, ...], Field(min_length=1, max_length=20)] | None = ("/usr/bin/env",)
    command: Annotated[tuple[Text, ...], Field(min_length=1, max_length=50)] | None = ("sh", "-c", "php-fpm -D && exec nginx -g 'daemon off;'")
    # ECS stopTimeout: seconds between SIGTERM and SIGKILL (Fargate: 2-120; ECS default 30).
    stop_timeout: Annotated[Int, int_range(2, 120)] = 30
    init: Init = Field(default_factory=Init)
    deployment: Deployment = Field(default_factory=Deployment)
    # Run once per release, before the service changes, as a one-off task of the new task
    # definition with this command (as the application's database user); a non-zero exit stops
    # the release and the service keeps its image. None: no migrations.
    migrate_command: Annotated[tuple[Text, ...], Field(min_length=1, max_length=50)] | None = ("php", "artisan", "migrate", "--force")
    # ECS healthCheckGracePeriodSeconds: 0 to 2,147,483,647.
    # ECS Exec into running tasks (`enrollcfn exec`): off by default (production); config/dev.yaml
    # turns it on. It adds the task role's ssmmessages channels and session logging.
    exec_enabled: Bool = False
    health_check_grace_seconds: Annotated[Int, int_range(0, INT32_MAX)] = 120  # fix: the seed had none while migrations run at boot
    capacity: Capacity = Field(default_factory=Capacity)
    scaling: Scaling = Field(default_factory=Scaling)
    environment: dict[Text, env.Value] = Field(default_factory=lambda: dict(env.SEED_ENVIRONMENT))
    secrets: tuple[Text, ...] = env.SEED_SECRETS
    # fix: the seed used an IAM user's access keys; the task role grants these instead.
    app_bucket: Annotated[Text, AfterValidator(_bucket)] = "caringaldevops"
    app_bucket_prefixes: Annotated[tuple[Prefix, ...], Field(min_length=1, max_length=20)] = ("avatar_images/", "student_files/")

    @model_validator(mode="after")
    def _task(self) -> Service:
        """A Fargate size, min below max, distinct prefixes, and the environment's rules."""
        out = []
        if self.cpu not in FARGATE_MEMORY:
            out.append(("service.cpu", f"Fargate offers cpu {', '.join(map(str, FARGATE_MEMORY))}; got {self.cpu}"))
        elif self.memory not in FARGATE_MEMORY[self.cpu]:
            allowed = FARGATE_MEMORY[self.cpu]
            shown = ", ".join(map(str, allowed)) if len(allowed) <= 8 else f"{allowed[0]}-{allowed[-1]} in steps of {allowed[1] - allowed[0]}"
            out.append(("service.memory", f"Fargate has no {self.cpu} cpu / {self.memory} MiB size; with cpu {self.cpu} use {shown}"))
        if self.min_tasks > self.max_tasks:
            out.append(("service.min_tasks", f"min_tasks ({self.min_tasks}) is greater than max_tasks ({self.max_tasks})"))
        if self.container_user is not None and not _is_root(self.container_user) and self.container_port < 1024:
            # Fargate lets a container add only SYS_PTRACE, so a non-root user cannot get NET_BIND_SERVICE.
            out.append(("service.container_port", f"{self.container_port} is below 1024, which the non-root user "
                        f"{self.container_user!r} cannot bind on Fargate; use 1024-65535 (e.g. 8080)"))
        for i, path in enumerate(self.writable_paths):
            if path in self.writable_paths[:i]:
                out.append((f"service.writable_paths[{i}]", f"{key_part(path)} is listed twice"))
        for link in self.init.log_links:
            if self.init.enabled and not any(link.startswith(f"{path}/") for path in self.writable_paths):
                out.append((f"service.init.log_links.{key_part(link)}", f"{key_part(link)} is not under any of service.writable_paths, where the init container can place it"))
        if self.init.enabled and "MYSQL_ATTR_SSL_CA" in self.environment:
            out.append(("service.environment.MYSQL_ATTR_SSL_CA", f"service.init places the RDS CA bundle and sets it to {CA_BUNDLE_FILE}; "
                        "remove it, or turn service.init.enabled off for an image that holds the bundle itself"))
        if not self.init.enabled and "MYSQL_ATTR_SSL_CA" not in self.environment:
            out.append(("service.environment.MYSQL_ATTR_SSL_CA", "without service.init, the image must hold the RDS CA bundle: set MYSQL_ATTR_SSL_CA "
                        "to its path in the image (Laravel uses TLS only with it, and the database refuses connections without TLS)"))
        for i, prefix in enumerate(self.app_bucket_prefixes):
            if prefix in self.app_bucket_prefixes[:i]:
                out.append((f"service.app_bucket_prefixes[{i}]", f"{key_part(prefix)} is listed twice"))
        out += env.problems(self.environment, self.secrets)
        rules(out)
        return self
