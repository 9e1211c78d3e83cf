"""Config: defaults reproduce the seed, YAML overrides merge strictly, and every bad input is
rejected with a one-line error naming its dotted key."""

from __future__ import annotations

import pytest
import yaml

from enrollcfn.cli import main
from enrollcfn.config import Config, load, validate
from enrollcfn.errors import ConfigError


def write(tmp_path, data) -> str:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(path)


def test_defaults_are_valid_and_reproduce_the_seed():
    cfg = Config()
    assert validate(cfg) == []
    assert cfg.region == "ap-southeast-2"
    assert cfg.network.vpc_cidr == "192.168.0.0/24"
    assert cfg.network.public_subnets == ("192.168.0.0/26", "192.168.0.64/26")
    assert cfg.network.private_subnets == ("192.168.0.128/26", "192.168.0.192/26")
    assert cfg.network.nat_gateways == "single"
    assert (cfg.service.cpu, cfg.service.memory, cfg.service.min_tasks, cfg.service.max_tasks) == (1024, 2048, 2, 20)


@pytest.mark.parametrize("name", ["production", "dev"])
def test_shipped_configs_load_and_validate(name):
    cfg = load(f"config/{name}.yaml")
    assert validate(cfg) == []


def test_production_yaml_is_the_default_deployment():
    assert load("config/production.yaml") == Config()


def test_overrides_merge_onto_defaults(tmp_path):
    cfg = load(write(tmp_path, {"network": {"nat_gateways": "per_az"}, "service": {"environment": {"LOG_LEVEL": "info", "APP_DEBUG": None}}}))
    assert cfg.network.nat_gateways == "per_az"
    assert cfg.network.vpc_cidr == "192.168.0.0/24"
    assert cfg.service.environment["LOG_LEVEL"] == "info"
    assert "APP_DEBUG" not in cfg.service.environment
    assert cfg.service.environment["APP_NAME"] == "Laravel"


@pytest.mark.parametrize(
    "data, key, words",
    [
        ({"network": {"vpc_cdir": "10.0.0.0/16"}}, "network.vpc_cdir", "unknown key"),
        ({"servce": {}}, "servce", "unknown key"),
        ({"service": {"cpu": "lots"}}, "service.cpu", "whole number"),
        ({"network": {"s3_gateway_endpoint": "yes"}}, "network.s3_gateway_endpoint", "true or false"),
        ({"network": {"public_subnets": "10.0.0.0/24"}}, "network.public_subnets", "list of strings"),
        ({"service": {"environment": {"A": [1]}}}, "service.environment.A", "plain value"),
        ("network: [1, 2", "config", "not valid YAML"),
    ],
)
def test_load_rejects_bad_shapes_naming_the_key(tmp_path, data, key, words):
    with pytest.raises(ConfigError) as err:
        load(write(tmp_path, data))
    assert err.value.key == key
    assert words in err.value.message


# One case per rejected input: (overrides, dotted key the error must name, words it must contain)
BAD_INPUTS = [
    ({"network": {"vpc_cidr": "192.168.0/24"}}, "network.vpc_cidr", "not an IPv4 CIDR"),
    ({"network": {"vpc_cidr": "192.168.0.1/24"}}, "network.vpc_cidr", "host bits set"),
    ({"network": {"public_subnets": ["192.168.0.1/26", "192.168.0.64/26"]}}, "network.public_subnets[0]", "host bits"),
    ({"network": {"public_subnets": ["10.1.0.0/26", "192.168.0.64/26"]}}, "network.public_subnets[0]", "outside the VPC"),
    ({"network": {"private_subnets": ["192.168.0.0/27", "192.168.0.192/26"]}}, "network.private_subnets[0]", "overlaps network.public_subnets[0]"),
    ({"network": {"vpc_cidr": "10.0.0.0/15", "public_subnets": ["10.0.0.0/24", "10.0.1.0/24"], "private_subnets": ["10.0.2.0/24", "10.0.3.0/24"]}}, "network.vpc_cidr", "/16 to /28"),
    ({"network": {"vpc_cidr": "192.168.0.0/29", "public_subnets": ["192.168.0.0/30"]}}, "network.vpc_cidr", "/16 to /28"),
    ({"network": {"availability_zones": ["ap-southeast-2a", "ap-southeast-2a"]}}, "network.availability_zones", "distinct"),
    ({"network": {"availability_zones": ["ap-southeast-2a", "us-east-1b"]}}, "network.availability_zones[1]", "not a zone of ap-southeast-2"),
    ({"network": {"availability_zones": ["ap-southeast-2a"]}}, "network.availability_zones", "exactly 2"),
    ({"region": "eu-west-9"}, "region", "not a region"),
    ({"network": {"nat_gateways": "double"}}, "network.nat_gateways", "single, per_az"),
    ({"service": {"cpu": 256, "memory": 4096}}, "service.memory", "use 512, 1024, 2048"),
    ({"service": {"cpu": 4096, "memory": 4096}}, "service.memory", "8192-30720 in steps of 1024"),
    ({"service": {"cpu": 1024, "memory": 9216}}, "service.memory", "use 2048, 3072, 4096, 5120, 6144, 7168, 8192"),
    ({"service": {"cpu": 3000}}, "service.cpu", "Fargate offers cpu"),
    ({"service": {"min_tasks": 5, "max_tasks": 3}}, "service.min_tasks", "greater than max_tasks"),
    ({"service": {"scaling": {"cpu_target": 0}}}, "service.scaling.cpu_target", "1-100"),
    ({"service": {"scaling": {"memory_target": 101}}}, "service.scaling.memory_target", "1-100"),
    ({"load_balancer": {"health_check": {"timeout_seconds": 15}}}, "load_balancer.health_check.timeout_seconds", "less than interval_seconds"),
    ({"load_balancer": {"ssl_policy": "ELBSecurityPolicy-TLS-1-2-2017-01"}}, "load_balancer.ssl_policy", "TLS 1.3"),
    ({"logs": {"retention_days": 31}}, "logs.retention_days", "CloudWatch accepts only"),
    ({"dns": {"api_domain": "api..martincaringal.co.nz"}}, "dns.api_domain", "not a valid domain name"),
    ({"dns": {"api_domain": "-api.martincaringal.co.nz"}}, "dns.api_domain", "not a valid domain name"),
    ({"dns": {"api_domain": "x" * 64 + ".martincaringal.co.nz"}}, "dns.api_domain", "not a valid domain name"),
    ({"dns": {"zone_name": "localhost"}}, "dns.zone_name", "at least two labels"),
    ({"dns": {"api_domain": "api.example.com"}}, "dns.api_domain", "not in the hosted zone"),
    ({"dns": {"api_domain": "evilmartincaringal.co.nz"}}, "dns.api_domain", "not in the hosted zone"),
    ({"service": {"environment": {"DB_PASSWORD": "x"}}}, "service.environment.DB_PASSWORD", "looks like a secret"),
    ({"service": {"environment": {"STRIPE_SECRET": "x"}}}, "service.environment.STRIPE_SECRET", "looks like a secret"),
    ({"service": {"environment": {"AWS_ACCESS_KEY_ID": "x"}}}, "service.environment.AWS_ACCESS_KEY_ID", "looks like a secret"),
    ({"service": {"environment": {"GITHUB_TOKEN": "x"}}}, "service.environment.GITHUB_TOKEN", "looks like a secret"),
]


@pytest.mark.parametrize("data, key, words", BAD_INPUTS, ids=[c[1] + ":" + c[2] for c in BAD_INPUTS])
def test_validate_rejects_bad_input_naming_the_key(tmp_path, data, key, words):
    problems = validate(load(write(tmp_path, data)))
    matching = [p for p in problems if p.key == key]
    assert matching, f"no error for {key}; got {[str(p) for p in problems]}"
    assert any(words in p.message for p in matching), [p.message for p in matching]


@pytest.mark.parametrize("data, key, words", BAD_INPUTS[:6] + BAD_INPUTS[-4:], ids=[c[1] for c in BAD_INPUTS[:6] + BAD_INPUTS[-4:]])
def test_build_exits_1_with_a_one_line_error_and_writes_nothing(tmp_path, capsys, data, key, words):
    out = tmp_path / "out"
    code = main(["build", "--config", write(tmp_path, data), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"error: {key}: " in err
    assert "Traceback" not in err
    assert not out.exists()


def test_every_problem_is_reported_at_once(tmp_path, capsys):
    data = {"service": {"cpu": 256, "memory": 4096}, "logs": {"retention_days": 31}, "region": "eu-west-9"}
    assert main(["build", "--config", write(tmp_path, data)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert {l.split(":")[1].strip() for l in lines} >= {"service.memory", "logs.retention_days", "region"}


def test_a_missing_config_file_is_an_error_not_a_traceback(tmp_path, capsys):
    assert main(["build", "--config", str(tmp_path / "nope.yaml")]) == 1
    assert "error: config: cannot read" in capsys.readouterr().err
