"""compliance: control-tower and the AWS Control Tower proactive controls (tests/guard.py).

The rule names and control ids below are written out from the rule files of
@cdklabs/cdk-validator-cfnguard 0.0.62 (rules/control-tower/cfn-guard/<service>/ct-<service>-pr-<n>.guard:
each file's `rule <name> when ...` and its `[CT.<SERVICE>.PR.<n>]` message), not read from the code;
the tests that run cfn-guard also check each name is in its file. Those tests are skipped when
cfn-guard is not installed (`make scan` installs it into .scan-node and is itself the gate in CI).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from enrollcfn.cli import main
from enrollcfn.config import Config, load, parse
from enrollcfn.compiler import compile as compile_config
from enrollcfn.errors import ConfigErrors
from tests import guard

ROOT = Path(__file__).resolve().parents[1]

# (template, rule name, control id, rule file) the default templates fail: the controls docs/security.md
# says the default does not hold, and why.
DEFAULT_FAILURES = {
    ("bootstrap.yaml", "s3_bucket_default_encryption_kms_check", "CT.S3.PR.10", "s3/ct-s3-pr-10.guard"),
    ("bootstrap.yaml", "s3_bucket_logging_enabled_check", "CT.S3.PR.2", "s3/ct-s3-pr-2.guard"),
    ("bootstrap.yaml", "s3_bucket_object_lock_enabled_check", "CT.S3.PR.9", "s3/ct-s3-pr-9.guard"),
    ("load_balancer.yaml", "s3_bucket_default_encryption_kms_check", "CT.S3.PR.10", "s3/ct-s3-pr-10.guard"),
    ("load_balancer.yaml", "s3_bucket_logging_enabled_check", "CT.S3.PR.2", "s3/ct-s3-pr-2.guard"),
    ("load_balancer.yaml", "s3_bucket_object_lock_enabled_check", "CT.S3.PR.9", "s3/ct-s3-pr-9.guard"),
    *((t, "cloudwatch_log_group_encrypted_check", "CT.CLOUDWATCH.PR.3", "cloudwatch/ct-cloudwatch-pr-3.guard")
      for t in ("cluster.yaml", "database.yaml", "network.yaml", "redeploy.yaml", "service.yaml")),
    *((t, "cloudwatch_log_group_retention_period_check", "CT.CLOUDWATCH.PR.2", "cloudwatch/ct-cloudwatch-pr-2.guard")
      for t in ("cluster.yaml", "database.yaml", "network.yaml", "redeploy.yaml", "service.yaml")),
    *((t, "lambda_inside_vpc_check", "CT.LAMBDA.PR.3", "lambda/ct-lambda-pr-3.guard")
      for t in ("database.yaml", "network.yaml", "redeploy.yaml", "service.yaml")),
    ("database.yaml", "rds_instance_logging_enabled_check", "CT.RDS.PR.14", "rds/ct-rds-pr-14.guard"),
    ("database.yaml", "rds_instance_multi_az_support_check", "CT.RDS.PR.1", "rds/ct-rds-pr-1.guard"),
    ("database.yaml", "rds_instance_no_default_ports_check", "CT.RDS.PR.20", "rds/ct-rds-pr-20.guard"),
    ("database.yaml", "rds_storage_encrypted_kms_key_check", "CT.RDS.PR.30", "rds/ct-rds-pr-30.guard"),
    ("service.yaml", "ecs_task_definition_nonroot_user_check", "CT.ECS.PR.3", "ecs/ct-ecs-pr-3.guard"),
    ("service.yaml", "cloudwatch_alarm_action_check", "CT.CLOUDWATCH.PR.1", "cloudwatch/ct-cloudwatch-pr-1.guard"),
}  # fmt: skip

# Rules the seed-derived templates failed and the default templates now hold.
FIXED = {
    ("ecs_task_definition_memory_hard_limit_check", "CT.ECS.PR.7", "ecs/ct-ecs-pr-7.guard"),
    ("kms_create_grant_aws_service_check", "CT.KMS.PR.3", "keymanagementservice/ct-kms-pr-3.guard"),
    ("sqs_dlq_check", "CT.SQS.PR.1", "sqs/ct-sqs-pr-1.guard"),
    ("s3_event_notifications_enabled_check", "CT.S3.PR.4", "s3/ct-s3-pr-4.guard"),
    ("s3_bucket_versioning_enabled_check", "CT.S3.PR.11", "s3/ct-s3-pr-11.guard"),
}

needs_guard = pytest.mark.skipif(not guard.installed(), reason="cfn-guard is not installed (make scan installs it into .scan-node; CI's make scan is the gate)")


def build_of(config: str | None, tmp_path: Path) -> Path:
    out = tmp_path / "build"
    args = ["build", "--out", str(out)] + (["--config", config] if config else [])
    assert main(args) == 0
    return out


@needs_guard
def test_the_package_ships_cfn_guard_3_1_1_and_237_control_tower_rule_files():
    assert guard.version() == "3.1.1"
    assert len(guard.rule_files()) == 237


@needs_guard
def test_the_rule_names_and_ids_written_here_are_the_rule_files_own():
    for _, name, control, path in DEFAULT_FAILURES:
        text = (guard.RULES / path).read_text(encoding="utf-8")
        assert re.search(rf"^rule {name} when ", text, re.M) and f"[{control}]" in text, (name, path)
    for name, control, path in FIXED:
        text = (guard.RULES / path).read_text(encoding="utf-8")
        assert re.search(rf"^rule {name} when ", text, re.M) and f"[{control}]" in text, (name, path)


@needs_guard
def test_a_control_tower_build_passes_every_rule(tmp_path):
    assert guard.check(build_of("config/control-tower.yaml", tmp_path)) == []


@needs_guard
def test_the_committed_build_fails_only_what_readme_explains():
    found = {(f.template, f.rule, f.control) for f in guard.check(ROOT / "build")}
    assert found == {(t, r, c) for t, r, c, _ in DEFAULT_FAILURES}
    assert not {r for _, r, _ in found} & {r for r, _, _ in FIXED}


@needs_guard
def test_the_gate_fails_on_an_unaccepted_failure_and_on_a_stale_exception(tmp_path, capsys):
    exceptions = tmp_path / "accepted.txt"
    listed = sorted(f"{t} {r} {c}" for t, r, c, _ in DEFAULT_FAILURES)
    exceptions.write_text("\n".join(listed[1:]) + "\n")
    assert guard.main(["--exceptions", str(exceptions), str(ROOT / "build")]) == 1
    assert "FAIL" in capsys.readouterr().out
    exceptions.write_text("\n".join(listed) + "\nservice.yaml sqs_dlq_check CT.SQS.PR.1\n")
    assert guard.main(["--exceptions", str(exceptions), str(ROOT / "build")]) == 1
    assert "STALE" in capsys.readouterr().out
    exceptions.write_text("\n".join(listed) + "\n")
    assert guard.main(["--exceptions", str(exceptions), str(ROOT / "build")]) == 0


def test_guard_exceptions_are_the_default_failures_and_readme_explains_each():
    accepted = guard.read_exceptions(ROOT / "guard-exceptions.txt")
    assert {(t, r, c) for (t, r), c in accepted.items()} == {(t, r, c) for t, r, c, _ in DEFAULT_FAILURES}
    readme = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    table = readme.split("Not held, and why:", 1)[1].split("\n\n", 2)[1]
    for control in sorted(set(accepted.values())):
        assert re.search(rf"^\| {re.escape(control)} \(", table, re.M), f"docs/security.md's 'Not held, and why' has no row for {control}"


def test_parameters_are_resolved_as_the_hooks_see_them_and_resource_refs_are_kept():
    template = {
        "Parameters": {"Subnets": {"Type": "List<AWS::EC2::Subnet::Id>"}, "Key": {"Type": "String"}, "Size": {"Type": "Number", "Default": 3}},
        "Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {
            "VpcConfig": {"SubnetIds": {"Ref": "Subnets"}, "SecurityGroupIds": [{"Ref": "Group"}]}, "KmsKeyArn": {"Ref": "Key"},
            "MemorySize": {"Ref": "Size"}, "Description": {"Ref": "AWS::Region"}}}},
    }  # fmt: skip
    props = guard.resolve_parameters(template)["Resources"]["F"]["Properties"]
    assert props["VpcConfig"] == {"SubnetIds": ["Subnets-1", "Subnets-2"], "SecurityGroupIds": [{"Ref": "Group"}]}
    assert (props["KmsKeyArn"], props["MemorySize"], props["Description"]) == ("Key-value", 3, {"Ref": "AWS::Region"})


# -- the compliance key -------------------------------------------------------------------------


def test_compliance_is_default_unless_set():
    assert Config().compliance == "default"
    assert load("config/control-tower.yaml").compliance == "control-tower"


@pytest.mark.parametrize("value", ["controltower", "Control-Tower", "", "strict"])
def test_an_unknown_compliance_is_one_line_naming_the_choices(value):
    with pytest.raises(ConfigErrors) as err:
        parse({"compliance": value})
    (problem,) = err.value.problems
    assert problem.key == "compliance" and "default, control-tower" in problem.message and "\n" not in str(problem)


def test_compliance_must_be_text():
    with pytest.raises(ConfigErrors) as err:
        parse({"compliance": ["control-tower"]})
    assert [p.key for p in err.value.problems] == ["compliance"]


def test_control_tower_over_the_defaults_lists_each_setting_to_change_with_its_control():
    with pytest.raises(ConfigErrors) as err:
        parse({"compliance": "control-tower"})
    got = {p.key: p.message for p in err.value.problems}
    assert got.keys() == {"service.container_user", "service.init.enabled", "load_balancer.access_log_bucket", "database.multi_az",
                          "database.general_log", "database.port", "logs.retention_days", "monitoring.alarm_topic_arn"}
    assert "CT.RDS.PR.20" in got["database.port"] and got["database.port"].endswith("got 3306")
    assert "CT.CLOUDWATCH.PR.2" in got["logs.retention_days"] and "at least 365" in got["logs.retention_days"]
    assert all(m.startswith("compliance: control-tower needs ") and "\n" not in m for m in got.values())


def test_control_tower_refuses_what_dev_chooses(tmp_path):
    dev = yaml.safe_load((ROOT / "config/dev.yaml").read_text())
    ct = yaml.safe_load((ROOT / "config/control-tower.yaml").read_text())
    merged = {**dev, **{k: v for k, v in ct.items() if k not in dev}}
    merged["service"] = {**dev["service"], **ct["service"]}
    merged["database"] = {**dev["database"], **ct["database"]}
    merged["load_balancer"] = {**dev["load_balancer"], **ct["load_balancer"]}
    merged["logs"] = ct["logs"]
    with pytest.raises(ConfigErrors) as err:
        parse(merged)
    assert {p.key for p in err.value.problems} == {
        "network.mode", "cluster.container_insights", "load_balancer.deletion_protection", "database.deletion_protection",
        "database.backup_retention_days",
    }  # fmt: skip
    assert any("CT.ECS.PR.9" in p.message for p in err.value.problems)


def test_control_tower_refuses_sharing_with_an_organization():
    ct = yaml.safe_load((ROOT / "config/control-tower.yaml").read_text())
    with pytest.raises(ConfigErrors) as err:
        parse({**ct, "catalog": {"organization_id": "o-abcdefghij"}})
    assert [p.key for p in err.value.problems] == ["catalog.organization_id"]


def test_build_with_a_bad_compliance_exits_1_with_one_line(tmp_path, capsys):
    path = tmp_path / "cfg.yaml"
    path.write_text("compliance: control-tower\nlogs: {retention_days: 30}\n")
    assert main(["build", "--config", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "error: logs.retention_days: compliance: control-tower needs at least 365 (CT.CLOUDWATCH.PR.2); got 30\n" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", [1149, 65536])
def test_database_port_is_within_what_rds_mysql_takes(value):
    with pytest.raises(ConfigErrors) as err:
        parse({"database": {"port": value}})
    assert [p.key for p in err.value.problems] == ["database.port"]


def test_access_log_bucket_is_a_bucket_name():
    with pytest.raises(ConfigErrors) as err:
        parse({"load_balancer": {"access_log_bucket": "Not_A_Bucket"}})
    assert [p.key for p in err.value.problems] == ["load_balancer.access_log_bucket"]


# -- what control-tower builds and costs ----------------------------------------------------------


@pytest.fixture(scope="module")
def control_tower():
    return compile_config(load("config/control-tower.yaml"))


def resources(build, stack: str, type_: str) -> dict:
    return {k: v for k, v in build.stacks[stack].doc["Resources"].items() if v["Type"] == type_}


def test_control_tower_stacks(control_tower):
    b = control_tower
    (db,) = resources(b, "database", "AWS::RDS::DBInstance").values()
    assert db["Properties"]["Port"] == "3307" and db["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DatabaseKey", "Arn"]}
    ingress = resources(b, "security", "AWS::EC2::SecurityGroupIngress")["ServiceToDatabaseIngress"]["Properties"]
    assert ingress["FromPort"] == ingress["ToPort"] == 3307
    for stack in ("network", "database", "service", "redeploy"):
        for function in resources(b, stack, "AWS::Lambda::Function").values():
            assert "VpcConfig" in function["Properties"], stack
    for stack in ("network", "cluster", "database", "service", "redeploy"):
        for group in resources(b, stack, "AWS::Logs::LogGroup").values():
            assert "KmsKeyId" in group["Properties"], stack
    assert not resources(b, "load_balancer", "AWS::S3::Bucket")
    assert set(resources(b, "bootstrap", "AWS::S3::Bucket")) == {"ArtifactBucket", "ServerAccessLogBucket"}


def test_the_default_adds_none_of_it():
    b = compile_config(Config())
    assert set(resources(b, "network", "AWS::KMS::Key")) == set() and not resources(b, "database", "AWS::KMS::Key")
    assert all("VpcConfig" not in f["Properties"] for s in ("network", "database", "service", "redeploy")
               for f in resources(b, s, "AWS::Lambda::Function").values())  # fmt: skip


def test_the_estimate_prices_what_control_tower_adds(control_tower):
    default = {line.item: line for line in compile_config(Config()).cost.lines}
    ct = {line.item: line for line in control_tower.cost.lines}
    assert ct["RDS db.t3.micro Multi-AZ"].quantity == 2 and "RDS db.t3.micro single-AZ" in default
    assert ct["KMS customer managed keys"].quantity == default["KMS customer managed keys"].quantity + 3
    assert "365 days" in ct["CloudWatch Logs storage"].note and "30 days" in default["CloudWatch Logs storage"].note
    assert {"RDS general log ingestion", "RDS general log storage"} <= ct.keys() and "RDS general log ingestion" not in default
    assert ct["RDS general log ingestion"].monthly > 0
