"""Releases: the strategy each environment gets, every property of it against cfn-lint's bundled
schema of AWS::ECS::Service and botocore's ECS model, CloudFormation's 33-hour limit, and the
migrations every release path runs before the service changes."""

from __future__ import annotations


import botocore.session
import pytest

from enrollcfn.compiler import compile
from enrollcfn.config import Config, load
from enrollcfn.errors import ConfigErrors
from tests.conftest import resource_schema


ECS_SERVICE = resource_schema("AWS::ECS::Service")
ECS_MODEL = botocore.session.get_session().get_service_model("ecs")


def _service(cfg: Config) -> dict:
    return compile(cfg).stacks["service"].doc["Resources"]["Service"]["Properties"]


def _camel(name: str) -> str:
    return name[0].lower() + name[1:]


def test_production_releases_a_canary_with_a_bake_time_and_dev_rolls():
    production = _service(load("config/production.yaml"))["DeploymentConfiguration"]
    assert production["Strategy"] == "CANARY" and production["BakeTimeInMinutes"] > 0
    assert 0 < production["CanaryConfiguration"]["CanaryPercent"] < 100
    dev = _service(load("config/dev.yaml"))["DeploymentConfiguration"]
    assert dev["Strategy"] == "ROLLING" and "BakeTimeInMinutes" not in dev and "CanaryConfiguration" not in dev
    # every strategy keeps the circuit breaker and the alarms that roll a release back
    for conf in (production, dev):
        assert conf["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        assert conf["Alarms"]["Enable"] is True and conf["Alarms"]["Rollback"] is True and len(conf["Alarms"]["AlarmNames"]) == 2


@pytest.mark.parametrize("strategy", ["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"])
def test_every_release_property_is_in_cloudformations_schema_and_ecss_api(strategy):
    service = _service(Config(service={"deployment": {"strategy": strategy}}))
    definitions = ECS_SERVICE["definitions"]
    conf = service["DeploymentConfiguration"]
    assert conf["Strategy"] in definitions["DeploymentConfiguration"]["properties"]["Strategy"]["enum"]
    api = ECS_MODEL.shape_for("DeploymentConfiguration").members
    for key, value in conf.items():
        assert key in definitions["DeploymentConfiguration"]["properties"], key
        assert _camel(key) in api, key
        if isinstance(value, dict) and key in definitions:
            limits = definitions[key].get("properties", {})
            for inner, number in value.items():
                assert inner in limits and _camel(inner) in api[_camel(key)].members, (key, inner)
                if isinstance(number, (int, float)) and not isinstance(number, bool):
                    assert limits[inner].get("minimum", number) <= number <= limits[inner].get("maximum", number), (key, inner)
    [balancer] = service["LoadBalancers"]
    advanced = balancer.get("AdvancedConfiguration")
    assert (advanced is None) == (strategy == "ROLLING")
    if advanced:
        assert set(advanced) == set(definitions["AdvancedConfiguration"]["properties"])  # alternate group, both rules, the role
        assert {_camel(k) for k in advanced} <= set(ECS_MODEL.shape_for("AdvancedConfiguration").members)


def test_a_progressive_release_has_the_second_target_group_and_rules_ecs_moves():
    cfg = Config(service={"deployment": {"strategy": "BLUE_GREEN"}})
    built = compile(cfg)
    balancer = built.stacks["load_balancer"].doc["Resources"]
    rules = {k: r["Properties"] for k, r in balancer.items() if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"}
    assert set(rules) == {"ProductionListenerRule", "TestListenerRule"}
    assert rules["TestListenerRule"]["Priority"] < rules["ProductionListenerRule"]["Priority"]  # the test header is matched first
    for rule in rules.values():
        [action] = rule["Actions"]
        groups = {g["TargetGroupArn"]["Ref"]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}
        assert groups == {"TargetGroup": 100, "AlternateTargetGroup": 0}
    assert "AlternateTargetGroup" in balancer
    rolling = compile(Config(service={"deployment": {"strategy": "ROLLING"}})).stacks["load_balancer"].doc["Resources"].values()
    assert not any(r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule" for r in rolling)


@pytest.mark.parametrize("deployment", [
    {"strategy": "CANARY", "bake_minutes": 1440, "canary_bake_minutes": 600},
    {"strategy": "LINEAR", "bake_minutes": 600, "linear_step_percent": 3, "linear_step_bake_minutes": 60},
])  # fmt: skip
def test_a_release_longer_than_cloudformation_allows_is_refused_at_the_key(deployment):
    """The schema: CloudFormation rejects canary and linear deployments whose computed time
    (bake + canary bake; bake + step bake x steps) exceeds 33 hours."""
    text = " ".join(ECS_SERVICE["definitions"][d]["description"] for d in ("CanaryConfiguration", "LinearConfiguration"))
    assert "exceeds 33 hours" in text
    with pytest.raises(ConfigErrors) as caught:
        Config(service={"deployment": deployment})
    assert [p.key for p in caught.value.problems] == ["service.deployment"]


@pytest.mark.parametrize("release", ["redeploy", "deploy"])
def test_both_ci_release_modes_run_the_migrations_before_the_service(release):
    """The workflow either pushes a release tag (the push-triggered CloudFormation update) or runs
    `enrollcfn deploy`: both update the stack, whose Migration runs before the Service."""
    from enrollcfn.workflow import install_steps, render

    delivery = {"enabled": True, "repository": "acme/enrollment-api", "branch": "main", "release": release}
    if release == "deploy":
        delivery["execution_role_name"] = "enrollcfn-deployer"
    cfg = Config(delivery=delivery)
    roles = {"DeliveryRoleArn": "arn:aws:iam::123456789012:role/d", "PlanRoleArn": "arn:aws:iam::123456789012:role/p"}
    text = render(cfg, "se-prod", roles, install_steps("git+https://github.com/acme/enrollcfn@" + "ab" * 20), "enrollcfn.yaml")
    if release == "deploy":
        assert "enrollcfn deploy --stack se-prod" in text
    else:
        assert cfg.registry.redeploy_tag_prefix in text  # the tag it pushes starts a release
    service = compile(cfg).stacks["service"].doc["Resources"]
    assert service["Service"]["DependsOn"] == ["Migration"]
    assert service["Migration"]["Properties"]["Command"] == list(cfg.service.migrate_command)
