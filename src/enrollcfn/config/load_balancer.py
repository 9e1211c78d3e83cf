"""The internet-facing ALB, its target group, health check and listeners.

Ranges are Elastic Load Balancing's (Application Load Balancers guide: target groups, health
checks and load balancer attributes). The deregistration delay's limit under Fargate Spot depends
on the service's capacity and is checked in the root model."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from enrollcfn.config._base import INT32_MAX, Bool, Int, Section, Text, check, int_range, rules
from enrollcfn.config.service import _bucket as bucket_name

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

# Elastic Load Balancing, Matcher HttpCode: "For Application Load Balancers, you can specify values
# between 200 and 499" (Application Load Balancers guide, health checks for target groups).
HTTP_CODES = (200, 499)


def _http_codes(value: str) -> str:
    """Every code of the list within HTTP_CODES, every range from low to high."""
    lo, hi = HTTP_CODES
    for part in value.split(","):
        first, _, last = part.partition("-")
        start, end = int(first), int(last or first)
        if not (lo <= start <= hi and lo <= end <= hi) or start > end:
            what = f"range {part}" if last else f"code {part}"
            raise PydanticCustomError("bad_value", "{message}", {"message": f"{what} is not allowed: an Application Load Balancer's health "
                                      f"check takes HTTP codes {lo}-{hi}, a range written low to high (such as 200-299)"})
    return value


class HealthCheck(Section):
    """Target-group health check."""

    # HealthCheckPath: 1-1024 characters, starting with '/'.
    path: Annotated[Text, check(r"/[\x21-\x7e]{0,1023}", "must start with '/' (at most 1024 printable characters)")] = "/"  # seed; the session-free /api/hello-world is cheaper (docs/configuration.md, "The health check path")
    interval_seconds: Annotated[Int, int_range(5, 300)] = 15  # seed; HealthCheckIntervalSeconds 5-300
    timeout_seconds: Annotated[Int, int_range(2, 120)] = 5  # seed; HealthCheckTimeoutSeconds 2-120
    healthy_threshold: Annotated[Int, int_range(2, 10)] = 2  # seed; HealthyThresholdCount 2-10
    unhealthy_threshold: Annotated[Int, int_range(2, 10)] = 2  # seed; UnhealthyThresholdCount 2-10
    # Matcher HttpCode: codes 200-499, as "200", "200,202" or "200-299" (a range low to high).
    matcher: Annotated[
        Text,
        check(r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*", "is not an HTTP code list: use codes 200-499 such as 200, 200,301 or 200-299"),
        AfterValidator(_http_codes),
    ] = "200"  # seed

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> HealthCheck:
        """ELB: the timeout must be smaller than the interval."""
        if self.timeout_seconds >= self.interval_seconds:
            rules([("load_balancer.health_check.timeout_seconds", f"must be less than interval_seconds ({self.interval_seconds}), got {self.timeout_seconds}")])
        return self


class LoadBalancer(Section):
    """Internet-facing ALB, its target group and listeners."""

    # fix: the seed used ELBSecurityPolicy-TLS-1-2-2017-01, which fails Security Hub ELB.17.
    ssl_policy: Text = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    health_check: HealthCheck = Field(default_factory=HealthCheck)
    # deregistration_delay.timeout_seconds: 0-3600 (at most 120 with Fargate Spot, checked at the root)
    deregistration_delay_seconds: Annotated[Int, int_range(0, 3600)] = 30  # seed
    slow_start_seconds: Annotated[Int, int_range(0, 900)] = 60  # seed; slow_start.duration_seconds 30-900, or 0 (off)
    # Application cookie name: AWS reserves the AWSALB, AWSALBAPP and AWSALBTG prefixes.
    stickiness_cookie: Annotated[Text, check(r"(?!AWSALB)[A-Za-z0-9_!#$%&'*+.^`|~-]{1,255}", "is not a usable cookie name (1-255 token characters, not starting with AWSALB)")] = "laravel_session"  # seed (app_cookie stickiness)
    stickiness_seconds: Annotated[Int, int_range(1, 604800)] = 86400  # seed; stickiness.app_cookie.duration_seconds 1-604800 (7 days)
    idle_timeout_seconds: Annotated[Int, int_range(1, 4000)] = 60  # seed (AWS default); idle_timeout.timeout_seconds 1-4000
    # fix: seed had it off (ELB.6). Left out, it follows `production` (config.model), so a
    # development environment can be destroyed in one go.
    deletion_protection: Bool | None = None
    # S3 lifecycle ExpirationInDays: a positive integer (the API's Integer is 32-bit).
    access_log_retention_days: Annotated[Int, int_range(1, INT32_MAX)] = 90  # fix: the seed had no access logs (ELB.5)
    # IpAddressType of the ALB, and so of the internet ranges its security group opens (one value
    # for both). Only ipv4: dualstack needs IPv6 CIDR blocks on the VPC and the ALB's subnets,
    # IPv6 routes and a group allowing IPv6 ("Update the IP address types for your Application Load
    # Balancer", Dualstack requirements,
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-ip-address-type.html),
    # and the network stack gives the VPC no IPv6 block.
    ip_address_type: Text = "ipv4"
    # An existing bucket the ALB writes its access logs to (e.g. the organization's log archive;
    # its owner's policy must let Elastic Load Balancing write, and its lifecycle keeps them), instead of
    # a bucket of the stack's own. compliance: control-tower needs it: ALB delivers only to SSE-S3
    # buckets, which the Control Tower rule CT.S3.PR.10 refuses in the stack.
    access_log_bucket: Annotated[Text, AfterValidator(bucket_name)] | None = None

    @field_validator("ssl_policy")
    @classmethod
    def _tls13(cls, value: str) -> str:
        """Only the TLS 1.3 policies AWS recommends (Security Hub ELB.17)."""
        if value not in TLS13_POLICIES:
            rules([("load_balancer.ssl_policy", f"{value[:60]!r} is not a TLS 1.3 policy AWS recommends (Security Hub ELB.17); use one of {', '.join(TLS13_POLICIES)}")])
        return value

    @field_validator("ip_address_type")
    @classmethod
    def _ipv4(cls, value: str) -> str:
        """ipv4; dualstack would need IPv6 in the network, which it does not have."""
        if value in ("dualstack", "dualstack-without-public-ipv4"):
            rules([("load_balancer.ip_address_type", f"{value} needs IPv6 CIDR blocks on the VPC and the public subnets, which the network stack "
                    "does not create; use ipv4")])
        elif value != "ipv4":
            rules([("load_balancer.ip_address_type", f"must be ipv4, got {value[:40]!r}")])
        return value

    @property
    def open_ranges(self) -> list[tuple[str, str, str]]:
        """(family, SecurityGroupIngress key, CIDR) of the internet the ALB's group opens 80 and
        443 to: IPv4 always, IPv6 only for a dualstack load balancer (ipv4 has no IPv6 address,
        so ::/0 would only open a range nothing arrives on)."""
        ranges = [("IPv4", "CidrIp", "0.0.0.0/0")]
        if self.ip_address_type.startswith("dualstack"):
            ranges.append(("IPv6", "CidrIpv6", "::/0"))
        return ranges

    @field_validator("slow_start_seconds")
    @classmethod
    def _slow_start(cls, value: int) -> int:
        """ELB: the slow start duration is 30-900 seconds, or 0 to turn it off."""
        if 0 < value < 30:
            rules([("load_balancer.slow_start_seconds", f"must be 0 (off) or 30-900, got {value}")])
        return value
