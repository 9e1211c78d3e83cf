"""Two environments side by side in one local AWS account and region: the default config
(production) and config/dev.yaml, both deployed and healthy; then dev is destroyed completely and
production is untouched. Everything asserted is read back from the local AWS."""

from __future__ import annotations

import contextlib
import io
import json

import boto3
import pytest
import yaml

from enrollcfn.cli import main
from tests.conftest import PROJECT_ROOT
from enrollcfn.config import Config
from enrollcfn.config.loading import load
from enrollcfn.local import server as localaws

PRODUCTION, DEV = "se-prod", "se-dev"


def _quiet(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory):
    """Both environments deployed (bootstrap, image push, root) into one fresh local AWS."""
    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        zone = boto3.client("route53").create_hosted_zone(Name=Config().dns.zone_name, CallerReference="envs")["HostedZone"]["Id"]
        files = {}
        for stack, source in ((PRODUCTION, None), (DEV, PROJECT_ROOT / "config" / "dev.yaml")):
            data = yaml.safe_load(source.read_text()) if source else {}
            data.setdefault("dns", {})["hosted_zone_id"] = zone.rsplit("/", 1)[-1]
            path = tmp_path_factory.mktemp(stack) / "config.yaml"
            path.write_text(yaml.safe_dump(data))
            cfg = load(path)
            _quiet(["deploy", "--stack", stack, "--config", str(path), "--yes"])  # creates the repository, stops at the preflight
            localaws.push_image(boto3.client("ecr"), cfg.registry.repository_name, cfg.service.image_tag, stack)
            assert _quiet(["deploy", "--stack", stack, "--config", str(path), "--yes"]) == 0, stack
            files[stack] = (str(path), cfg)
        yield files


def _status(capsys, stack: str, config: str) -> tuple[int, dict]:
    code = main(["status", "--stack", stack, "--config", config, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _stacks() -> dict[str, str]:
    """Every stack the local AWS holds that is not deleted -> its status."""
    summaries = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    return {s["StackName"]: s["StackStatus"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"}


def _cluster_status(cfg: Config) -> str:
    return boto3.client("ecs").describe_clusters(clusters=[cfg.cluster.name])["clusters"][0]["status"]


def _inventory() -> dict[str, list[str]]:
    """The physical names of what each stack created (CloudFormation names them after the stack),
    for the resource kinds whose deletion the local AWS models."""
    c = boto3.client
    return {
        "db instances": [d["DBInstanceIdentifier"] for d in c("rds").describe_db_instances()["DBInstances"]],
        "load balancers": [lb["LoadBalancerName"] for lb in c("elbv2").describe_load_balancers()["LoadBalancers"]],
        "functions": [f["FunctionName"] for f in c("lambda").list_functions()["Functions"]],
        "queues": [u.rsplit("/", 1)[-1] for u in c("sqs").list_queues().get("QueueUrls", [])],
        "topics": [t["TopicArn"].rsplit(":", 1)[-1] for t in c("sns").list_topics()["Topics"]],
        "rules": [r["Name"] for r in c("events").list_rules()["Rules"]],
        "roles": [r["RoleName"] for r in c("iam").list_roles()["Roles"]],
        "security groups": [g["GroupName"] for g in c("ec2").describe_security_groups()["SecurityGroups"]],
    }


def test_both_environments_are_healthy_side_by_side(side_by_side, capsys):
    for stack, (config, cfg) in side_by_side.items():
        code, report = _status(capsys, stack, config)
        assert code == 0, (stack, report["problems"])
    ecs = boto3.client("ecs")
    clusters = {c.rsplit("/", 1)[-1] for c in ecs.list_clusters()["clusterArns"]}
    assert {cfg.cluster.name for _, cfg in side_by_side.values()} <= clusters
    assert len({cfg.cluster.name for _, cfg in side_by_side.values()}) == 2


def test_destroying_dev_removes_it_and_leaves_production_untouched(side_by_side, capsys):
    config, cfg = side_by_side[DEV]
    prod_config, prod_cfg = side_by_side[PRODUCTION]
    before = {name: status for name, status in _stacks().items() if name.startswith(PRODUCTION)}
    production_before = {kind: [n for n in names if n.lower().startswith(PRODUCTION)] for kind, names in _inventory().items()}
    assert all(production_before.values()), production_before  # the inventory sees each kind
    code = main(["destroy", "--stack", DEV, "--config", config, "--yes", "--disable-termination-protection"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert not [name for name in _stacks() if name.startswith(DEV) and not name.endswith("-bootstrap")], _stacks()
    assert _cluster_status(cfg) == "INACTIVE" and _cluster_status(prod_cfg) == "ACTIVE"
    after = _inventory()
    assert {kind: [n for n in names if n.lower().startswith(DEV)] for kind, names in after.items()} == {k: [] for k in after}
    assert {kind: [n for n in names if n.lower().startswith(PRODUCTION)] for kind, names in after.items()} == production_before
    assert {name: status for name, status in _stacks().items() if name.startswith(PRODUCTION)} == before
    code, report = _status(capsys, PRODUCTION, prod_config)
    assert code == 0, report["problems"]
