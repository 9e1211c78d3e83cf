"""`enrollcfn destroy` end to end against a local AWS (the patched moto server): a dev
environment deployed with deletion protection and a final snapshot is refused up front, the
config that turns both off is deployed, and destroy then removes every stack and prints what it
kept. The kept list is compared with what is really left in the emulator, read back from it."""

from __future__ import annotations

import re

import boto3
import pytest
import yaml
from cfn_flip import load_yaml

from enrollcfn.config import load
from enrollcfn.local import server as localaws
from tests.conftest import run_cli

STACK = "se-td"
BOOT = f"{STACK}-bootstrap"


def deployed(stack: str) -> tuple[dict, dict[str, str]]:
    """The emulator's record of a stack: the template it holds and logical -> physical ids."""
    cfn = boto3.client("cloudformation")
    body = cfn.get_template(StackName=stack)["TemplateBody"]
    resources = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return (body if isinstance(body, dict) else load_yaml(body)), {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def live_stacks() -> set[str]:
    summaries = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    return {s["StackName"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"}


@pytest.fixture(scope="module")
def torn_down(tmp_path_factory):
    """Deploy config/dev.yaml with both database protections on, try to destroy (twice), deploy
    config/dev.yaml itself, destroy; every step's exit code and output."""
    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        cfg = load("config/dev.yaml")
        zone = boto3.client("route53").create_hosted_zone(Name=cfg.dns.zone_name, CallerReference="td")["HostedZone"]["Id"]
        doc = yaml.safe_load(open("config/dev.yaml", encoding="utf-8"))
        doc.setdefault("dns", {})["hosted_zone_id"] = zone.rsplit("/", 1)[-1]
        tmp = tmp_path_factory.mktemp("td")
        dev, protected = tmp / "dev.yaml", tmp / "protected.yaml"
        dev.write_text(yaml.safe_dump(doc))
        doc["database"].update(deletion_protection=True, final_snapshot=True)
        protected.write_text(yaml.safe_dump(doc))

        steps = {}
        run_cli("deploy", "--stack", STACK, "--config", str(protected), "--yes")  # stops at the preflight: no image yet
        localaws.push_image(boto3.client("ecr"), cfg.registry.repository_name, cfg.service.image_tag, "td")
        steps["deploy_protected"] = run_cli("deploy", "--stack", STACK, "--config", str(protected), "--yes")
        destroy = ("destroy", "--stack", STACK, "--yes", "--disable-termination-protection", "--config")
        steps["refused"] = run_cli(*destroy, str(protected))
        steps["refused_undeployed"] = run_cli(*destroy, str(dev))
        steps["stacks_after_refusals"] = live_stacks()
        steps["deploy_dev"] = run_cli("deploy", "--stack", STACK, "--config", str(dev), "--yes")
        [db] = boto3.client("rds").describe_db_instances()["DBInstances"]
        steps["db"] = db
        # moto keeps neither a bucket's VersioningConfiguration nor the instance's log exports
        # from a template, so both are read from the templates the emulator holds.
        nested = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                  for r in boto3.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]}
        # The artifact bucket and the ALB's access-log bucket (retained on delete) are versioned.
        steps["versioned"] = {ids[k] for template, ids in (deployed(BOOT), deployed(nested["LoadBalancerStack"]))
                              for k, r in template["Resources"].items()
                              if r["Type"] == "AWS::S3::Bucket" and r["Properties"].get("VersioningConfiguration", {}).get("Status") == "Enabled"}
        db_stack = nested["DatabaseStack"]
        db_template, _ = deployed(db_stack)
        steps["log_exports"] = next(r["Properties"]["EnableCloudwatchLogsExports"] for r in db_template["Resources"].values()
                                    if r["Type"] == "AWS::RDS::DBInstance")
        steps["destroyed"] = run_cli(*destroy, str(dev))
        steps["left"] = {
            "stacks": live_stacks(),
            "buckets": {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]},
            "repositories": {r["repositoryName"] for r in boto3.client("ecr").describe_repositories()["repositories"]},
            "secrets": {s["ARN"] for s in boto3.client("secretsmanager").list_secrets()["SecretList"]},
            "db_instances": boto3.client("rds").describe_db_instances()["DBInstances"],
            "snapshots": boto3.client("rds").describe_db_snapshots(SnapshotType="manual")["DBSnapshots"],
        }
        steps["config"] = str(dev), str(protected)
        yield steps


def test_protection_on_in_the_config_is_refused_up_front_with_one_line(torn_down):
    assert torn_down["deploy_protected"][0] == 0
    code, out, err = torn_down["refused"]
    assert code == 1
    lines = err.strip().splitlines()
    assert lines == [f"error: database.deletion_protection: is on, so the deletion would fail half way; set it to false, apply it with "
                     f"`enrollcfn deploy --stack {STACK} --config {torn_down['config'][1]}`, then destroy"]
    assert {STACK, BOOT} <= torn_down["stacks_after_refusals"]


def test_protection_still_deployed_is_refused_until_the_config_is_deployed(torn_down):
    code, out, err = torn_down["refused_undeployed"]
    assert code == 1
    deploy = f"`enrollcfn deploy --stack {STACK} --config {torn_down['config'][0]}`"
    assert err.strip().splitlines() == [
        f"error: database.deletion_protection: is false in the config but still on in {STACK}/DatabaseStack; apply it with {deploy}, then destroy",
        f"error: {STACK}/DatabaseStack/Database: was deployed with DeletionPolicy Snapshot, the config says Delete; apply it with {deploy}, then destroy",
    ]
    assert "deleted" not in out


def test_destroy_removes_every_stack(torn_down):
    assert torn_down["deploy_dev"][0] == 0
    assert torn_down["db"]["DeletionProtection"] is False  # the deploy applied the config
    code, out, err = torn_down["destroyed"]
    assert code == 0, err
    assert f"{STACK}: deleted" in out and f"{BOOT}: deleted" in out
    assert torn_down["left"]["stacks"] == set()
    assert torn_down["left"]["db_instances"] == [] and torn_down["left"]["snapshots"] == []  # final_snapshot: false


def kept_commands(out: str) -> list[str]:
    return [line.strip() for line in out.split("kept on purpose", 1)[1].splitlines() if line.startswith("    aws ")]


def test_the_kept_list_is_what_is_left_in_the_emulator(torn_down):
    commands = kept_commands(torn_down["destroyed"][1])
    left = torn_down["left"]
    assert {m[1] for c in commands if (m := re.fullmatch(r"aws s3 rb s3://(\S+)( --force)?", c))} == left["buckets"]
    assert {m[1] for c in commands if (m := re.fullmatch(r"aws ecr delete-repository --repository-name (\S+) --force", c))} == left["repositories"]
    assert {m[1] for c in commands if (m := re.fullmatch(r"aws secretsmanager delete-secret --secret-id (\S+) --force-delete-without-recovery", c))} == left["secrets"]
    assert len(left["buckets"]) == 2 and len(left["repositories"]) == 1 and len(left["secrets"]) == 1
    assert not any("delete-db-snapshot" in c for c in commands)


def test_the_versioned_buckets_get_the_commands_that_empty_their_versions(torn_down):
    # `aws s3 rb --force` leaves old versions behind, so the bucket would not be empty (AWS CLI s3 rb).
    commands = kept_commands(torn_down["destroyed"][1])
    emptied = {re.match(r"aws s3api delete-objects --bucket (\S+) ", c)[1] for c in commands if c.startswith("aws s3api delete-objects")}
    assert emptied == torn_down["versioned"] and len(emptied) == 2 and emptied <= torn_down["left"]["buckets"]
    for bucket in emptied:
        assert f"aws s3 rb s3://{bucket}" in commands and f"aws s3 rb s3://{bucket} --force" not in commands


def test_the_log_groups_rds_writes_are_listed_by_the_instance_id(torn_down):
    # RDS exports to /aws/rds/instance/<id>/<log> (RDS User Guide, "Publishing database logs to
    # CloudWatch Logs"); the emulator runs no custom-resource function, so the groups are checked
    # against the instance id it reported and the exports of the template it holds.
    db = torn_down["db"]
    expected = {f"aws logs delete-log-group --log-group-name /aws/rds/instance/{db['DBInstanceIdentifier']}/{log}"
                for log in torn_down["log_exports"]}
    assert expected and {c for c in kept_commands(torn_down["destroyed"][1]) if c.startswith("aws logs")} == expected
