"""AWS's limits are checked at the config key, against an independent source: cfn-lint's bundled
CloudFormation resource schemas (`cfnlint.data.schemas`, the registry schemas per region).

For every config value that lands on a template property whose schema states a minimum, a
maximum, a length, a pattern or an enum, a value just outside it is refused by the config, with
an error naming the key; the config's own bounds lie inside the schema's; and the default value
satisfies the schema. A finding cfn-lint still reports is traced back to its key, in one line."""

from __future__ import annotations

import re

import annotated_types
import pytest

from enrollcfn.compiler import checked
from enrollcfn.config import Config, parse
from enrollcfn.config.model import Config as Root
from enrollcfn.errors import ConfigError, ConfigErrors, LintError
from tests.conftest import resource_schema

# config key -> (resource type, property path; [] steps into a list's items)
MAPPED = {
    "load_balancer.health_check.path": ("AWS::ElasticLoadBalancingV2::TargetGroup", "HealthCheckPath"),
    "load_balancer.health_check.interval_seconds": ("AWS::ElasticLoadBalancingV2::TargetGroup", "HealthCheckIntervalSeconds"),
    "load_balancer.health_check.timeout_seconds": ("AWS::ElasticLoadBalancingV2::TargetGroup", "HealthCheckTimeoutSeconds"),
    "load_balancer.health_check.healthy_threshold": ("AWS::ElasticLoadBalancingV2::TargetGroup", "HealthyThresholdCount"),
    "load_balancer.health_check.unhealthy_threshold": ("AWS::ElasticLoadBalancingV2::TargetGroup", "UnhealthyThresholdCount"),
    "load_balancer.ip_address_type": ("AWS::ElasticLoadBalancingV2::LoadBalancer", "IpAddressType"),
    "service.container_port": ("AWS::ElasticLoadBalancingV2::TargetGroup", "Port"),
    "service.capacity.fargate_base": ("AWS::ECS::Service", "CapacityProviderStrategy.[].Base"),
    "service.capacity.spot_base": ("AWS::ECS::Service", "CapacityProviderStrategy.[].Base"),
    "service.capacity.fargate_weight": ("AWS::ECS::Service", "CapacityProviderStrategy.[].Weight"),
    "service.capacity.spot_weight": ("AWS::ECS::Service", "CapacityProviderStrategy.[].Weight"),
    "service.app_bucket": ("AWS::S3::Bucket", "BucketName"),
    "registry.repository_name": ("AWS::ECR::Repository", "RepositoryName"),
    "registry.image_tag_mutability": ("AWS::ECR::Repository", "ImageTagMutability"),
    "registry.redeploy_reserved_concurrency": ("AWS::Lambda::Function", "ReservedConcurrentExecutions"),
    "database.master_username": ("AWS::RDS::DBInstance", "MasterUsername"),
    "database.app_username": ("AWS::RDS::DBInstance", "MasterUsername"),  # created like the master user
    "database.backup_retention_days": ("AWS::RDS::DBInstance", "BackupRetentionPeriod"),
    "delivery.execution_role_name": ("AWS::IAM::Role", "RoleName"),
    "dns.hosted_zone_id": ("AWS::Route53::RecordSet", "HostedZoneId"),
    "logs.retention_days": ("AWS::Logs::LogGroup", "RetentionInDays"),
    "network.flow_logs_traffic": ("AWS::EC2::FlowLog", "TrafficType"),
}
WORDS = ("type", "minimum", "maximum", "minLength", "maxLength", "pattern", "enum")


def constraint(resource_type: str, path: str) -> dict:
    """The schema's constraints on one property (its $refs followed)."""
    schema = resource_schema(resource_type)
    node = schema
    for part in path.split("."):
        node = _deref(schema, node)
        node = node["items"] if part == "[]" else node["properties"][part]
    node = _deref(schema, node)
    return {k: v for k, v in node.items() if k in WORDS}


def _deref(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        target = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _nested(key: str, value: object) -> dict:
    out: object = value
    for part in reversed(key.split(".")):
        out = {part: out}
    return out  # type: ignore[return-value]


def _python_pattern(pattern: str) -> re.Pattern | None:
    return None if "\\p" in pattern else re.compile(pattern)


def outside(c: dict) -> list[object]:
    """Values just outside the schema's constraints."""
    values: list[object] = []
    if "minimum" in c:
        values.append(c["minimum"] - 1)
    if "maximum" in c:
        values.append(c["maximum"] + 1)
    if "enum" in c:
        values.append(max(c["enum"]) + 1 if c.get("type") == "integer" else "NOT_" + str(c["enum"][0]))
    if "maxLength" in c:
        values.append("a" * (c["maxLength"] + 1))
    if c.get("minLength", 0) > 0:
        values.append("a" * (c["minLength"] - 1))
    pattern = _python_pattern(c["pattern"]) if "pattern" in c else None
    if pattern is not None:
        values += [v for v in ("a b", "\u0430dmin", "-x", "x/", "9abc", "a" * 300, "A__B") if not pattern.search(v)]
    return values


def _accepted(c: dict, value: object) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return c.get("minimum", value) <= value <= c.get("maximum", value) and value in c.get("enum", [value])
    text = str(value)
    pattern = _python_pattern(c["pattern"]) if "pattern" in c else None
    return (c.get("minLength", 0) <= len(text) <= c.get("maxLength", len(text)) and (pattern is None or bool(pattern.search(text)))
            and text in c.get("enum", [text]))


CASES = [(key, value) for key, (t, p) in MAPPED.items() for value in outside(constraint(t, p))]


def test_every_mapped_property_has_a_constraint_to_check():
    for key, (t, p) in MAPPED.items():
        assert constraint(t, p).keys() - {"type"}, f"{key}: {t} {p} states no limit; drop it from MAPPED"


@pytest.mark.parametrize("key, value", CASES, ids=[f"{k}={str(v)[:20]}" for k, v in CASES])
def test_a_value_outside_the_schema_is_refused_at_its_key(key, value):
    data = _nested(key, value)
    if key.startswith("delivery."):
        data["delivery"].update(enabled=True, repository="o/r", release="deploy")
    with pytest.raises(ConfigErrors) as err:
        parse(data)
    keys = [p.key for p in err.value.problems]
    assert key in keys, f"{key}={value!r}: the errors name {keys}"
    assert all("\n" not in p.message and len(p.message) < 600 for p in err.value.problems)


@pytest.mark.parametrize("key", [k for k in MAPPED])
def test_the_default_and_the_configs_bounds_lie_inside_theresource_schema(key):
    c = constraint(*MAPPED[key])
    value = Config()
    for part in key.split("."):
        value = getattr(value, part)
    if value not in (None, ""):
        assert _accepted(c, value), f"{key}: the default {value!r} breaks {c}"
    section = Root
    *parents, name = key.split(".")
    for part in parents:
        section = section.model_fields[part].annotation
    for item in section.model_fields[name].metadata:
        if isinstance(item, annotated_types.Ge):
            assert item.ge >= c.get("minimum", item.ge), f"{key}: the config allows {item.ge}, the schema's minimum is {c['minimum']}"
        if isinstance(item, annotated_types.Le):
            assert item.le <= c.get("maximum", item.le), f"{key}: the config allows {item.le}, the schema's maximum is {c['maximum']}"


def test_a_lint_finding_is_reported_at_its_config_key_in_one_bounded_line():
    """A value the config's checks let through (here forced past them) is reported at its key,
    not as a template line quoting 5 KB."""
    cfg = Config()
    hc = cfg.load_balancer.health_check.model_copy(update={"path": "/" + "x" * 5000})
    bad = cfg.model_copy(update={"load_balancer": cfg.load_balancer.model_copy(update={"health_check": hc})})
    with pytest.raises(LintError) as err:
        checked(bad)
    traced = [f for f in err.value.findings if isinstance(f, ConfigError)]
    assert [f.key for f in traced] == ["load_balancer.health_check.path"]
    line = f"error: {traced[0].key}: {traced[0].message}"
    assert "\n" not in line and len(line) < 500 and "E3033" in line
    assert all(len(str(f)) < 500 for f in err.value.findings)
