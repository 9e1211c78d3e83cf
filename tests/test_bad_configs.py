"""Bad configs, each refused with the dotted key its error must name, and never a traceback.

The limits are AWS's documented ones, written here as numbers from the documentation (cited per
case), not read from the code: RDS for MySQL storage 20-65,536 GiB; ECS 5,000 tasks per service,
names of 255 letters, digits, '-' and '_', 64 KiB per task definition; S3 bucket names of 3-63
lower-case characters; RDS backup windows of at least 30 minutes apart from the maintenance
window; CloudFormation Integer properties are 32-bit; MySQL reserved words and system schemas.
"""

from __future__ import annotations


import pytest
import yaml

from enrollcfn.cli import main
from enrollcfn.config import load, parse
from enrollcfn.errors import ConfigErrors

INT32_OVER = 2**31  # one past the largest 32-bit Integer CloudFormation takes
KIB = 1024

# (what is wrong, overrides, the dotted key the error must name)
BAD = [
    ("unknown top-level key", {"servce": {}}, "servce"),
    ("unknown nested key", {"load_balancer": {"health_check": {"paht": "/"}}}, "load_balancer.health_check.paht"),
    ("string for a number", {"service": {"cpu": "1024"}}, "service.cpu"),
    ("float for a whole number", {"service": {"min_tasks": 2.5}}, "service.min_tasks"),
    ("boolean for a number", {"service": {"max_tasks": True}}, "service.max_tasks"),
    ("string for a boolean", {"network": {"s3_gateway_endpoint": "yes"}}, "network.s3_gateway_endpoint"),
    ("mapping for a string", {"project": {"a": 1}}, "project"),
    ("null section", {"network": None}, "network"),
    ("list for a section", {"database": [1, 2]}, "database"),
    ("string for a list", {"network": {"public_subnets": "10.0.0.0/24"}}, "network.public_subnets"),
    ("list item not a string", {"network": {"availability_zones": ["ap-southeast-2a", ["x"]]}}, "network.availability_zones[1]"),
    # Budgets needs a real amount: NaN and infinity are not numbers AWS accepts.
    ("NaN budget", {"monitoring": {"monthly_budget_usd": float("nan")}}, "monitoring.monthly_budget_usd"),
    ("infinite budget", {"monitoring": {"monthly_budget_usd": float("inf")}}, "monitoring.monthly_budget_usd"),
    ("negative budget", {"monitoring": {"monthly_budget_usd": -5}}, "monitoring.monthly_budget_usd"),
    # ECS service quotas: at most 5,000 tasks per service.
    ("max_tasks beyond ECS's 5,000 tasks per service", {"service": {"max_tasks": 5001}}, "service.max_tasks"),
    ("max_tasks a billion", {"service": {"max_tasks": 1_000_000_000}}, "service.max_tasks"),
    ("number beyond int32", {"service": {"health_check_grace_seconds": INT32_OVER}}, "service.health_check_grace_seconds"),
    ("cooldown beyond int32", {"service": {"scaling": {"scale_in_cooldown": INT32_OVER}}}, "service.scaling.scale_in_cooldown"),
    ("zero min_tasks", {"service": {"min_tasks": 0}}, "service.min_tasks"),
    # ECS capacity provider strategy: weight 0-1,000, base 0-100,000.
    ("capacity weight over 1,000", {"service": {"capacity": {"spot_weight": 1001}}}, "service.capacity.spot_weight"),
    ("capacity base over 100,000", {"service": {"capacity": {"fargate_base": 100_001}}}, "service.capacity.fargate_base"),
    # RDS for MySQL: storage 20-65,536 GiB.
    ("storage over RDS MySQL's 65,536 GiB", {"database": {"allocated_storage_gb": 65537, "max_allocated_storage_gb": 65537}}, "database.allocated_storage_gb"),
    ("storage autoscaling ceiling over the maximum", {"database": {"max_allocated_storage_gb": 70000}}, "database.max_allocated_storage_gb"),
    # RDS storage autoscaling: the maximum at least 10 % above the allocation.
    ("autoscaling maximum equal to the allocation", {"database": {"allocated_storage_gb": 100, "max_allocated_storage_gb": 100}}, "database.max_allocated_storage_gb"),
    ("autoscaling maximum 5 % above the allocation", {"database": {"allocated_storage_gb": 100, "max_allocated_storage_gb": 105}}, "database.max_allocated_storage_gb"),
    ("storage at 64 TiB leaves no room to autoscale", {"database": {"allocated_storage_gb": 65536, "max_allocated_storage_gb": 65536}}, "database.max_allocated_storage_gb"),
    # ALB health checks take HTTP codes 200-499.
    ("health check code 500", {"load_balancer": {"health_check": {"matcher": "500"}}}, "load_balancer.health_check.matcher"),
    ("health check code 100", {"load_balancer": {"health_check": {"matcher": "200,100"}}}, "load_balancer.health_check.matcher"),
    ("health check range past 499", {"load_balancer": {"health_check": {"matcher": "200-599"}}}, "load_balancer.health_check.matcher"),
    ("health check range high to low", {"load_balancer": {"health_check": {"matcher": "299-200"}}}, "load_balancer.health_check.matcher"),
    # ARNs of the config's region's partition (every region a config may name is in aws).
    ("topic of the China partition", {"monitoring": {"alarm_topic_arn": "arn:aws-cn:sns:cn-north-1:123456789012:alarms"}}, "monitoring.alarm_topic_arn"),
    ("provider of GovCloud", {"delivery": {"provider_arn": "arn:aws-us-gov:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}}, "delivery.provider_arn"),
    ("StackSet role of the China partition", {"stackset": {"permission_model": "SELF_MANAGED", "administration_role_arn": "arn:aws-cn:iam::123456789012:role/Admin"}}, "stackset.administration_role_arn"),
    # IAM compares as strings and its policy documents take nothing past U+00FF: ASCII only.
    ("Cyrillic letter in a bucket prefix", {"service": {"app_bucket_prefixes": ["\u0430vatar_images/"]}}, "service.app_bucket_prefixes[0]"),
    ("Cyrillic letter in the alarm address", {"monitoring": {"alarm_email": "ops@ex\u0430mple.com"}}, "monitoring.alarm_email"),
    ("io1 without IOPS", {"database": {"storage_type": "io1"}}, "database.storage_type"),
    ("io2 without IOPS", {"database": {"storage_type": "io2"}}, "database.storage_type"),
    ("magnetic storage", {"database": {"storage_type": "standard"}}, "database.storage_type"),
    # RDS: a backup window is at least 30 minutes and does not overlap the maintenance window.
    ("backup window of 10 minutes", {"database": {"backup_window": "03:00-03:10"}}, "database.backup_window"),
    ("backup window overlapping maintenance", {"database": {"backup_window": "04:00-05:00"}}, "database.backup_window"),
    ("backup window across midnight overlapping maintenance", {"database": {"backup_window": "23:50-00:30", "maintenance_window": "tue:00:00-tue:01:00"}}, "database.backup_window"),
    ("maintenance window of 5 minutes", {"database": {"maintenance_window": "sun:10:00-sun:10:05"}}, "database.maintenance_window"),
    ("backup retention over 35 days", {"database": {"backup_retention_days": 36}}, "database.backup_retention_days"),
    # RDS: the database name may not be a word the engine reserves.
    ("database named mysql", {"database": {"name": "mysql"}}, "database.name"),
    ("database named select", {"database": {"name": "select"}}, "database.name"),
    ("database named information_schema", {"database": {"name": "information_schema"}}, "database.name"),
    ("master user rdsadmin", {"database": {"master_username": "rdsadmin"}}, "database.master_username"),
    ("database name over 64 characters", {"database": {"name": "d" * 65}}, "database.name"),
    # ECS names: up to 255 letters, digits, hyphens and underscores.
    ("service name with / and *", {"service": {"name": "api/*"}}, "service.name"),
    ("service name of 256 characters", {"service": {"name": "s" * 256}}, "service.name"),
    ("empty cluster name", {"cluster": {"name": ""}}, "cluster.name"),
    ("cluster name with a space", {"cluster": {"name": "my cluster"}}, "cluster.name"),
    # ECR: repository names are lower case, 2-256 characters.
    ("upper-case repository", {"registry": {"repository_name": "MyRepo"}}, "registry.repository_name"),
    ("repository of 257 characters", {"registry": {"repository_name": "r" * 257}}, "registry.repository_name"),
    # S3 bucket naming rules: 3-63 characters, lower case, letters, digits, '.', '-'.
    ("bucket *", {"service": {"app_bucket": "*"}}, "service.app_bucket"),
    ("empty bucket", {"service": {"app_bucket": ""}}, "service.app_bucket"),
    ("bucket of 64 characters", {"service": {"app_bucket": "b" * 64}}, "service.app_bucket"),
    ("upper-case bucket", {"service": {"app_bucket": "MyBucket"}}, "service.app_bucket"),
    ("bucket like an IP address", {"service": {"app_bucket": "192.168.5.4"}}, "service.app_bucket"),
    ("bucket with a wildcard inside", {"service": {"app_bucket": "app-*"}}, "service.app_bucket"),
    ("empty prefix", {"service": {"app_bucket_prefixes": [""]}}, "service.app_bucket_prefixes[0]"),
    ("prefix *", {"service": {"app_bucket_prefixes": ["avatar_images/", "*"]}}, "service.app_bucket_prefixes[1]"),
    ("prefix with a wildcard", {"service": {"app_bucket_prefixes": ["user-*/"]}}, "service.app_bucket_prefixes[0]"),
    ("no prefixes", {"service": {"app_bucket_prefixes": []}}, "service.app_bucket_prefixes"),
    # EC2: the zone must exist in the region.
    ("zone that does not exist", {"network": {"availability_zones": ["ap-southeast-2a", "ap-southeast-2z"]}}, "network.availability_zones[1]"),
    ("zone of another region", {"region": "us-east-1", "network": {"availability_zones": ["us-east-1a", "ap-southeast-2b"]}}, "network.availability_zones[1]"),
    ("unknown region", {"region": "mars-east-1"}, "region"),
    # Secrets once each, and never also a plain variable.
    ("secret listed twice", {"service": {"secrets": ["APP_KEY", "APP_KEY"]}}, "service.secrets[1]"),
    ("secret also in environment", {"service": {"secrets": ["APP_KEY", "APP_NAME"]}}, "service.secrets[1]"),
    # ECS: a task definition is at most 64 KiB.
    ("70 KB environment value", {"service": {"environment": {"BIG": "x" * 70 * 1000}}}, "service.environment"),
    ("variable with a dash", {"service": {"environment": {"MY-VAR": "1"}}}, "service.environment.MY-VAR"),
    ("variable the stacks set", {"service": {"environment": {"DB_HOST": "db.example.com"}}}, "service.environment.DB_HOST"),
    ("subnet outside the VPC", {"network": {"private_subnets": ["10.9.0.0/26", "192.168.0.192/26"]}}, "network.private_subnets[0]"),
    ("health-check interval over 300 s", {"load_balancer": {"health_check": {"interval_seconds": 301}}}, "load_balancer.health_check.interval_seconds"),
    ("idle timeout over 4000 s", {"load_balancer": {"idle_timeout_seconds": 4001}}, "load_balancer.idle_timeout_seconds"),
    ("slow start under 30 s", {"load_balancer": {"slow_start_seconds": 10}}, "load_balancer.slow_start_seconds"),
    ("log retention CloudWatch does not offer", {"logs": {"retention_days": 31}}, "logs.retention_days"),
    ("invalid email", {"monitoring": {"alarm_email": "ops at example"}}, "monitoring.alarm_email"),
]

# (what is wrong, file bytes, the key the error must name)
BAD_FILES = [
    ("binary garbage", bytes(range(256)) * 16, "config"),
    ("Latin-1 text", "project: caf\xe9\n".encode("latin-1"), "config"),
    ("a list at the top level", b"- a\n- b\n", "config"),
    ("a plain string", b"hello\n", "config"),
    ("broken YAML", b"network: [1, 2\n", "config"),
    ("two documents", b"project: a\n---\nproject: b\n", "config"),
    ("a 23 MB file", b"#" * (23 * 1000 * 1000), "config"),
    ("deeply nested lists", b"[" * 100_000 + b"]" * 100_000, "config"),
    ("deeply nested mappings", b"a: " + b"{a: " * 20_000 + b"1" + b"}" * 20_000, "config"),
    ("a million tiny items", b"network:\n  public_subnets: [" + b",".join([b"1"] * 400_000) + b"]\n", "config"),
    ("an invalid date", b"project: 2024-02-30\n", "project"),  # YAML 1.2 has no implicit dates: text, refused as a name
    ("a NUL byte", b"project: a\x00b\n", "config"),
    ("a NUL escape in a name", b"project: \"a\\0b\"\n", "project"),
    ("a Python tag", b"project: !!python/object:os.system x\n", "config"),
    ("a duplicated section", b"network:\n  nat_gateways: per_az\nservice:\n  cpu: 512\nnetwork:\n  vpc_cidr: 10.0.0.0/16\n", "network"),
    ("a duplicated variable", b"service:\n  environment:\n    APP_ENV: a\n    APP_ENV: b\n", "service.environment.APP_ENV"),
    ("an alias loop", b"network: &n\n  public_subnets: *n\n", "network.public_subnets"),
    (
        "an alias bomb",
        b"a: &a [x,x,x,x,x,x,x,x,x]\n"
        + b"".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n".encode() for p, c in zip("abcdefgh", "bcdefghi"))
        + b"network:\n  public_subnets: *i\n",
        "network.public_subnets[0]",
    ),
]


def keys_of(data) -> list[str]:
    with pytest.raises(ConfigErrors) as err:
        parse(data)
    return [p.key for p in err.value.problems]


@pytest.mark.parametrize("what, data, key", BAD, ids=[c[0] for c in BAD])
def test_bad_config_is_refused_naming_its_key(what, data, key):
    keys = keys_of(data)
    assert key in keys, f"{what}: expected {key}, got {keys}"


@pytest.mark.parametrize("what, raw, key", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_file_is_refused_naming_its_key(tmp_path, what, raw, key):
    # How long refusing takes is measured by `make bench` (the worst of these files), not here.
    path = tmp_path / "cfg.yaml"
    path.write_bytes(raw)
    with pytest.raises(ConfigErrors) as err:
        load(path)
    keys = [p.key for p in err.value.problems]
    assert key in keys, f"{what}: expected {key}, got {keys}"
    assert all("\n" not in p.message for p in err.value.problems)


# At AWS's documented limits the values are accepted: the tests above refuse what lies beyond.
AT_THE_LIMIT = [
    # RDS MySQL 64 TiB, and the autoscaling maximum at least 10 % above the allocation: 59,578 GiB
    # is the most that leaves 10 % below 65,536.
    {"database": {"allocated_storage_gb": 59578, "max_allocated_storage_gb": 65536}},
    {"database": {"allocated_storage_gb": 20, "max_allocated_storage_gb": 22}},  # 10 % above 20
    {"load_balancer": {"health_check": {"matcher": "200-499"}}},  # ALB health checks: 200-499
    {"service": {"max_tasks": 5000}},  # ECS tasks per service
    {"service": {"name": "s" * 242}},  # "<name>-requestcount" fills App Auto Scaling's 256 characters
    {"cluster": {"name": "c" * 255}},  # ECS cluster names: 255
    {"service": {"app_bucket": "abc"}},  # S3: 3 characters
    {"service": {"app_bucket": "a" * 63}},  # S3: 63 characters
    {"database": {"backup_window": "03:00-03:30"}},  # RDS: 30 minutes
    {"database": {"backup_window": "23:30-00:30", "maintenance_window": "mon:04:00-mon:05:00"}},
    {"database": {"backup_retention_days": 35}},  # RDS: 35 days
    {"region": "us-east-1", "network": {"availability_zones": ["us-east-1a", "us-east-1f"]}},
    {"service": {"environment": {"BIG": "x" * 40 * KIB}}},  # well inside ECS's 64 KiB
]


@pytest.mark.parametrize("data", AT_THE_LIMIT, ids=[str(d)[:60] for d in AT_THE_LIMIT])
def test_values_at_the_documented_limits_are_accepted(data):
    parse(data)


def test_three_problems_in_three_sections_are_three_problems():
    data = {"network": {"vpc_cdir": "10.0.0.0/16"}, "service": {"cpu": "lots"}, "database": {"allocated_storage_gb": 70000}}
    assert keys_of(data) == ["network.vpc_cdir", "service.cpu", "database.allocated_storage_gb"]


def test_the_command_line_prints_three_lines_for_three_problems(tmp_path, capsys):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({"network": {"vpc_cdir": "10.0.0.0/16"}, "service": {"cpu": "lots"}, "database": {"allocated_storage_gb": 70000}}))
    assert main(["build", "--config", str(path), "--out", str(tmp_path / "out")]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["network.vpc_cdir", "service.cpu", "database.allocated_storage_gb"]
    assert not (tmp_path / "out").exists()


CLI_CASES = [(what, yaml.safe_dump(data).encode()) for what, data, _ in BAD] + [(what, raw) for what, raw, _ in BAD_FILES]


@pytest.mark.parametrize("what, raw", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_no_input_gives_a_traceback_on_the_command_line(tmp_path, capsys, what, raw):
    path = tmp_path / "cfg.yaml"
    path.write_bytes(raw)
    assert main(["build", "--config", str(path), "--out", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), captured.err[:500]
    assert "Traceback" not in captured.err + captured.out
