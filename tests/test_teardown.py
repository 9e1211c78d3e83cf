"""What the two database keys compile to, and what `destroy` refuses before any AWS call.

The templates are read back from YAML: build/database.yaml (the committed production build) and
the dev config compiled now."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber
from cfn_flip import load_yaml

from enrollcfn import teardown
from enrollcfn.cli import main
from enrollcfn.compiler import BUILD_DIR, compile
from enrollcfn.config import Config, load


def database(yaml_text: str) -> dict:
    [db] = [r for r in load_yaml(yaml_text)["Resources"].values() if r["Type"] == "AWS::RDS::DBInstance"]
    return db


def test_production_keeps_its_database_and_dev_can_delete_it():
    prod = database((BUILD_DIR / "database.yaml").read_text(encoding="utf-8"))
    assert prod["Properties"]["DeletionProtection"] is True
    assert prod["DeletionPolicy"] == prod["UpdateReplacePolicy"] == "Snapshot"
    dev = database(compile(load("config/dev.yaml")).stacks["database"].text)
    assert dev["Properties"]["DeletionProtection"] is False
    assert dev["DeletionPolicy"] == dev["UpdateReplacePolicy"] == "Delete"


def test_both_keys_follow_production_when_left_out():
    staging = Config(environment="staging", production=False)
    assert (staging.database.deletion_protection, staging.database.final_snapshot) == (False, False)
    assert (Config().database.deletion_protection, Config().database.final_snapshot) == (True, True)
    mixed = Config(environment="staging", production=False, database={"final_snapshot": True})
    assert (mixed.database.deletion_protection, mixed.database.final_snapshot) == (False, True)


def test_destroy_refuses_protection_in_the_config_with_one_line_per_key_before_any_change(capsys, tmp_path, monkeypatch):
    """Only reads happen first (who the caller is, whether the stacks exist): a stack that is not
    there is said before the protection (tests/test_project_envs_e2e.py)."""
    import json

    import boto3
    from moto import mock_aws

    for var, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "ap-southeast-2"}.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        cfn = boto3.client("cloudformation")
        body = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
        for stack, env in (("se-prod", "production"), ("se-dev", "dev")):
            cfn.create_stack(StackName=stack, TemplateBody=body, Tags=[{"Key": "environment", "Value": env}])
        code = main(["destroy", "--stack", "se-prod", "--yes"], client_factory=boto3.client)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1
        deploy = "`enrollcfn deploy --stack se-prod`"
        assert err == [f"error: database.deletion_protection: is on, so the deletion would fail half way; set it to false, apply it with {deploy}, then destroy",
                       f"error: load_balancer.deletion_protection: is on, so the deletion would fail half way; set it to false, apply it with {deploy}, then destroy"]
        path = tmp_path / "lb.yaml"
        path.write_text("environment: dev\nproduction: false\nload_balancer:\n  deletion_protection: true\n")
        assert main(["destroy", "--stack", "se-dev", "--config", str(path), "--yes"], client_factory=boto3.client) == 1
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("error: load_balancer.deletion_protection: is on") and f"--config {path}`" in line
        assert {s["StackName"] for s in cfn.describe_stacks()["Stacks"]} == {"se-prod", "se-dev"}


def test_a_final_snapshot_is_named_by_the_snapshots_that_appeared():
    import boto3

    rds = boto3.client("rds", region_name="ap-southeast-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(rds)
    # DescribeDBSnapshots response shape: DBSnapshots[].DBSnapshotIdentifier (RDS API reference).
    query = {"DBInstanceIdentifier": "db-1", "SnapshotType": "manual"}
    stub.add_response("describe_db_snapshots", {"DBSnapshots": [{"DBSnapshotIdentifier": "by-hand"}]}, query)
    stub.add_response("describe_db_snapshots", {"DBSnapshots": [{"DBSnapshotIdentifier": "by-hand"}, {"DBSnapshotIdentifier": "final-1"}]}, query)
    with stub:
        before = teardown._manual_snapshots(rds, "db-1")
        kept = teardown._snapshot("db-1", sorted(teardown._manual_snapshots(rds, "db-1") - before))
    assert kept.commands == ("aws rds delete-db-snapshot --db-snapshot-identifier final-1",)
    assert "final DB snapshot final-1 (of db-1" in kept.what


@pytest.mark.parametrize("final_snapshot", [True, False])
def test_a_snapshot_policy_waits_for_the_snapshot_and_keeps_nothing_else_of_the_instance(final_snapshot):
    cfg = Config(environment="staging", production=False, database={"final_snapshot": final_snapshot})
    build = compile(cfg)
    d = teardown.Deployed("se/DatabaseStack", "database", {"Database": "db-1", "DatabaseLogRetention": "x"}, build["database"].doc)
    kept, databases = teardown.retained([d], build)
    assert databases == (["db-1"] if final_snapshot else [])
    # The database stack keeps no resource by policy; only the groups RDS writes, named by the instance.
    assert [k.commands for k in kept] == [(f"aws logs delete-log-group --log-group-name /aws/rds/instance/db-1/{log}",)
                                          for log in build["database"].doc["Resources"]["Database"]["Properties"]["EnableCloudwatchLogsExports"]]
