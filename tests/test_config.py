"""Config: defaults reproduce the seed, YAML overrides merge strictly, every bad input is refused
with a one-line error naming its dotted key, and the bundled AWS facts agree with their sources."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files

import pytest
import yaml

from enrollcfn.cli import main
from enrollcfn.config import Config, load, parse
from enrollcfn.errors import ConfigError, ConfigErrors


def write(tmp_path, data) -> str:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(path)


def problems(data) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as err:
        parse(data)
    return err.value.problems


def test_defaults_reproduce_the_seed():
    # Values from the seed inventory (reference/seed-inventory.md).
    cfg = Config()
    assert cfg.region == "ap-southeast-2"
    assert cfg.network.vpc_cidr == "192.168.0.0/24"
    assert cfg.network.public_subnets == ("192.168.0.0/26", "192.168.0.64/26")
    assert cfg.network.private_subnets == ("192.168.0.128/26", "192.168.0.192/26")
    assert cfg.network.nat_gateways == "single"
    assert (cfg.service.cpu, cfg.service.memory, cfg.service.min_tasks, cfg.service.max_tasks) == (1024, 2048, 2, 20)
    assert (cfg.service.scaling.cpu_target, cfg.service.scaling.memory_target) == (70, 80)
    assert (cfg.database.instance_class, cfg.database.allocated_storage_gb, cfg.database.name) == ("db.t3.micro", 20, "collage")
    # not the seed's: its UTC windows (03:00-04:00, mon:04:00-mon:05:00) were the Sydney afternoon
    assert (cfg.database.backup_window, cfg.database.maintenance_window) == ("02:00-03:00", "mon:03:30-mon:04:30")
    assert cfg.registry.keep_images == 30 and cfg.logs.retention_days == 30
    assert "DB_DATABASE" not in cfg.service.environment and cfg.database.name == "collage"  # injected from database.name


def test_defaults_pass_validation_and_every_way_in_gives_the_same_config():
    assert parse({}) == load(None) == Config() == parse(None)


@pytest.mark.parametrize("name", ["production", "dev"])
def test_shipped_configs_load(name):
    assert isinstance(load(f"config/{name}.yaml"), Config)


def test_production_yaml_is_the_default_deployment():
    assert load("config/production.yaml") == Config()


def test_config_is_frozen_with_tuples_for_lists():
    cfg = Config()
    with pytest.raises(Exception, match="frozen"):
        cfg.region = "us-east-1"  # type: ignore[misc]
    with pytest.raises(Exception, match="frozen"):
        cfg.service.scaling.cpu_target = 1  # type: ignore[misc]
    assert isinstance(cfg.service.secrets, tuple) and isinstance(cfg.service.environment, dict)


def test_overrides_merge_onto_defaults(tmp_path):
    cfg = load(write(tmp_path, {"network": {"nat_gateways": "per_az"}, "service": {"environment": {"LOG_LEVEL": "info", "APP_DEBUG": None}}}))
    assert cfg.network.nat_gateways == "per_az"
    assert cfg.network.vpc_cidr == "192.168.0.0/24"
    assert cfg.service.environment["LOG_LEVEL"] == "info"
    assert "APP_DEBUG" not in cfg.service.environment
    assert cfg.service.environment["APP_NAME"] == "Laravel"
    assert cfg.service.cpu == 1024


def test_lists_replace_the_default_and_scalars_keep_their_text():
    cfg = parse({"service": {"app_bucket_prefixes": ["uploads/"], "environment": {"PORT_X": 8080, "FLAG": False}}, "load_balancer": {"health_check": {"matcher": 200}}})
    assert cfg.service.app_bucket_prefixes == ("uploads/",)
    assert (cfg.service.environment["PORT_X"], cfg.service.environment["FLAG"]) == ("8080", "false")
    assert cfg.load_balancer.health_check.matcher == "200"


def test_the_constructor_validates_too():
    with pytest.raises(ConfigErrors) as err:
        Config(service={"max_tasks": 10**9})
    assert [p.key for p in err.value.problems] == ["service.max_tasks"]


@pytest.mark.parametrize(
    "data, key, words",
    [
        ({"network": {"vpc_cdir": "10.0.0.0/16"}}, "network.vpc_cdir", "unknown key (allowed here: vpc_cidr, "),
        ({"servce": {}}, "servce", "allowed here: project, environment, region"),
        ({"service": {"cpu": "lots"}}, "service.cpu", "expected a whole number, got 'lots'"),
        ({"network": {"s3_gateway_endpoint": "yes"}}, "network.s3_gateway_endpoint", "expected true or false"),
        ({"network": {"public_subnets": "10.0.0.0/24"}}, "network.public_subnets", "expected a list of strings"),
        ({"service": {"environment": {"A": [1]}}}, "service.environment.A", "plain value"),
        ({"network": {"availability_zones": ["ap-southeast-2a"]}}, "network.availability_zones", "exactly 2"),
        ({"network": {"nat_gateways": "double"}}, "network.nat_gateways", "one of single, per_az"),
        ({"database": {"allocated_storage_gb": 70000}}, "database.allocated_storage_gb", "must be 20-65536, got 70000"),
        ({"monitoring": {"monthly_budget_usd": float("nan")}}, "monitoring.monthly_budget_usd", "finite"),
        ({"database": {"storage_type": "io1"}}, "database.storage_type", "provisioned IOPS"),
        ({"database": {"backup_window": "04:00-05:00"}}, "database.backup_window", "overlaps the maintenance window"),
        ({"database": {"backup_window": "03:00-03:20"}}, "database.backup_window", "30 minutes"),
        ({"database": {"name": "mysql"}}, "database.name", "reserves"),
        ({"service": {"environment": {"BIG": "x" * 70_000}}}, "service.environment", "64 KiB"),
        ({"service": {"app_bucket": "*"}}, "service.app_bucket", "not an S3 bucket name"),
        ({"network": {"availability_zones": ["ap-southeast-2a", "ap-southeast-2z"]}}, "network.availability_zones[1]", "ap-southeast-2a, ap-southeast-2b, ap-southeast-2c"),
    ],
)
def test_problem_messages_say_what_is_wrong_and_what_is_allowed(data, key, words):
    matching = [p for p in problems(data) if p.key == key]
    assert matching and any(words in p.message for p in matching), [str(p) for p in matching]


def test_a_bad_yaml_file_is_one_config_error(tmp_path):
    with pytest.raises(ConfigErrors) as err:
        load(write(tmp_path, "network: [1, 2"))
    assert [(p.key, "not valid YAML at line" in p.message) for p in err.value.problems] == [("config", True)]


def test_a_duplicated_key_names_both_lines(tmp_path):
    with pytest.raises(ConfigErrors) as err:
        load(write(tmp_path, "service:\n  cpu: 512\n  cpu: 1024\n"))
    (problem,) = err.value.problems
    assert problem.key == "service.cpu" and "lines 2 and 3" in problem.message


# One case per rejected input: (overrides, dotted key the error must name, words it must contain)
BAD_INPUTS = [
    ({"network": {"vpc_cidr": "192.168.0/24"}}, "network.vpc_cidr", "not an IPv4 CIDR"),
    ({"network": {"vpc_cidr": "192.168.0.1/24"}}, "network.vpc_cidr", "host bits set"),
    ({"network": {"public_subnets": ["192.168.0.1/26", "192.168.0.64/26"]}}, "network.public_subnets[0]", "host bits"),
    ({"network": {"public_subnets": ["10.1.0.0/26", "192.168.0.64/26"]}}, "network.public_subnets[0]", "outside the VPC"),
    ({"network": {"private_subnets": ["192.168.0.0/27", "192.168.0.192/26"]}}, "network.private_subnets[0]", "overlaps network.public_subnets[0]"),
    ({"network": {"vpc_cidr": "10.0.0.0/15", "public_subnets": ["10.0.0.0/24", "10.0.1.0/24"], "private_subnets": ["10.0.2.0/24", "10.0.3.0/24"]}}, "network.vpc_cidr", "/16 to /28"),
    ({"network": {"availability_zones": ["ap-southeast-2a", "ap-southeast-2a"]}}, "network.availability_zones", "distinct"),
    ({"network": {"availability_zones": ["ap-southeast-2a", "us-east-1b"]}}, "network.availability_zones[1]", "not a zone of ap-southeast-2"),
    ({"region": "eu-west-9"}, "region", "not a region"),
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
    ({"dns": {"zone_name": "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61}, "environment": "e" * 32},
     "dns.api_domain", "over DNS's 253 characters"),
    ({"registry": {"create": False}}, "registry.repository_name", "name the existing repository"),
    # ECR, ECS and DNS names are built from it: upper case, '_' or a 33rd character breaks one of them
    ({"environment": "Dev_1"}, "environment", "2-32 lower-case letters, digits and hyphens"),
    ({"environment": "e" * 33}, "environment", "2-32 lower-case letters, digits and hyphens"),
    ({"project": "student-enrollment-" + "x" * 20}, "project", "2-32 lower-case letters, digits and hyphens"),
    ({"dns": {"api_domain": "api.example.com"}}, "dns.api_domain", "not in the hosted zone"),
    ({"dns": {"api_domain": "evilmartincaringal.co.nz"}}, "dns.api_domain", "not in the hosted zone"),
    ({"service": {"environment": {"DB_PASSWORD": "x"}}}, "service.environment.DB_PASSWORD", "set by the stacks"),
    ({"service": {"environment": {"STRIPE_SECRET": "x"}}}, "service.environment.STRIPE_SECRET", "looks like a secret"),
    ({"service": {"environment": {"AWS_ACCESS_KEY_ID": "x"}}}, "service.environment.AWS_ACCESS_KEY_ID", "is read by the AWS SDKs"),
    # a production environment under a variant name cannot switch its production rules off
    ({"environment": "prod-eu", "production": False}, "production", "reads as production"),
    ({"environment": "eu-production", "production": False}, "production", "reads as production"),
    ({"environment": "prod2", "production": False}, "production", "reads as production"),
    ({"environment": "live", "production": False}, "production", "reads as production"),
    ({"service": {"environment": {"GITHUB_TOKEN": "x"}}}, "service.environment.GITHUB_TOKEN", "looks like a secret"),
]


@pytest.mark.parametrize("data, key, words", BAD_INPUTS, ids=[c[1] + ":" + c[2] for c in BAD_INPUTS])
def test_bad_input_is_refused_naming_the_key(data, key, words):
    matching = [p for p in problems(data) if p.key == key]
    assert matching, f"no error for {key}; got {[str(p) for p in problems(data)]}"
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
    data = {"service": {"cpu": 256, "memory": 4096}, "logs": {"retention_days": 31}, "region": "eu-west-9", "servce": 1, "network": {"s3_gateway_endpoint": "no"}}
    assert main(["build", "--config", write(tmp_path, data)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert {l.split(":")[1].strip() for l in lines} == {"service.memory", "logs.retention_days", "region", "servce", "network.s3_gateway_endpoint"}


def test_a_missing_config_file_is_an_error_not_a_traceback(tmp_path, capsys):
    assert main(["build", "--config", str(tmp_path / "nope.yaml")]) == 1
    assert "error: config: cannot read" in capsys.readouterr().err


# ---- bundled AWS facts ------------------------------------------------------------------------

# Endpoint prefixes of the regional services the stacks use (Route 53 and Budgets are global).
REGIONAL_SERVICES = (
    "ecs", "api.ecr", "elasticloadbalancing", "rds", "acm", "secretsmanager", "events", "lambda",
    "application-autoscaling", "logs", "cloudformation", "sqs", "sns", "monitoring",
)  # fmt: skip


def bundled_regions() -> dict:
    return json.loads(files("enrollcfn.config").joinpath("data/regions.json").read_text())


def test_bundled_regions_are_those_where_botocore_knows_every_service():
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(create_loader().load_data("endpoints"))
    offered = set.intersection(*(set(resolver.get_available_endpoints(prefix)) for prefix in REGIONAL_SERVICES))
    assert set(bundled_regions()["regions"]) == offered


def test_bundled_zones_belong_to_their_region_and_say_where_they_come_from():
    data = bundled_regions()
    assert data["source"] and data["retrieved"]
    for region, zones in data["regions"].items():
        assert len(zones) >= 2, region  # the stacks need two zones
        assert all(z[:-1] == region and z[-1].isalpha() for z in zones), region
    assert {"ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"} == set(data["regions"]["ap-southeast-2"])


def test_engine_versions_are_cfn_lints_own_list():
    from enrollcfn.config.regions import mysql_engine_versions

    schema = json.loads(files("cfnlint.data.schemas.extensions.aws_rds_dbinstance").joinpath("engine_version.json").read_text())
    (mysql,) = [r for r in schema["allOf"] if r.get("if", {}).get("properties", {}).get("Engine", {}).get("const") == "mysql"]
    listed = set(mysql["then"]["properties"]["EngineVersion"]["enum"])
    assert "8.4.7" in mysql_engine_versions() and set(mysql_engine_versions()) <= listed
    assert "8.0.35" in listed and "8.0.35" not in mysql_engine_versions()  # listed by cfn-lint, retired by RDS


def test_loading_a_config_imports_neither_cfn_lint_nor_an_aws_sdk():
    code = (
        "import sys; from enrollcfn.config import load; load(None); load('config/production.yaml'); "
        "bad = [m for m in ('cfnlint', 'boto3', 'botocore') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
