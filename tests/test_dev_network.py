"""network.mode public, the cheap development network, read back from what `enrollcfn build`
writes for config/dev.yaml: no NAT gateway and no Elastic IP, the tasks in the subnets whose
route leads to the internet gateway, with public IPs, admitted only from the load balancer; and
`enrollcfn cost` of that config within 70 USD a month with every line priced. Production keeps
private subnets behind NAT, and a production environment may not choose public."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from cfn_flip import load_yaml

from enrollcfn.cli import main
from enrollcfn.config import Config, load, parse
from enrollcfn.errors import ConfigErrors
from tests.conftest import resources_of

DEV = "config/dev.yaml"
TARGET_USD = 70.0  # the development environment's monthly target
# AWS VPC pricing: $0.005 per public IPv4 address-hour (since 1 February 2024), over the seed's
# 730.56-hour month.
PUBLIC_IPV4_MONTH = round(0.005 * 730.56, 2)


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> dict[str, dict]:
    """Each template `enrollcfn build --config config/dev.yaml` wrote (lint clean), read back."""
    out = tmp_path_factory.mktemp("dev-build")
    assert main(["build", "--config", DEV, "--out", str(out)]) == 0
    return {p.stem: load_yaml(p.read_text(encoding="utf-8")) for p in out.glob("*.yaml")}


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("production-build")
    assert main(["build", "--config", "config/production.yaml", "--out", str(out)]) == 0
    return {p.stem: load_yaml(p.read_text(encoding="utf-8")) for p in out.glob("*.yaml")}


@pytest.fixture(scope="module")
def dev_cost() -> dict:
    """`enrollcfn cost --config config/dev.yaml --json`, parsed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["cost", "--config", DEV, "--json"]) == 0
    return json.loads(out.getvalue())


def _service(templates: dict) -> dict:
    (svc,) = resources_of(templates["service"], "AWS::ECS::Service").values()
    return svc["Properties"]


def _internet_subnets(network: dict) -> set[str]:
    """The subnets whose route table sends 0.0.0.0/0 to the internet gateway (public by AWS's definition)."""
    to_igw = {r["Properties"]["RouteTableId"]["Ref"] for r in resources_of(network, "AWS::EC2::Route").values()
              if r["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0" and "GatewayId" in r["Properties"]
              and r["Properties"]["GatewayId"] == {"Ref": next(iter(resources_of(network, "AWS::EC2::InternetGateway")))}}
    return {a["Properties"]["SubnetId"]["Ref"] for a in resources_of(network, "AWS::EC2::SubnetRouteTableAssociation").values()
            if a["Properties"]["RouteTableId"]["Ref"] in to_igw}


def _subnets_behind(templates: dict, parameter: str, stack: str = "ServiceStack") -> set[str]:
    """The subnet resources the root passes to `stack` as `parameter`, followed through the wiring."""
    value = templates["root"]["Resources"][stack]["Properties"]["Parameters"][parameter]
    producer, output = value["Fn::GetAtt"][0], value["Fn::GetAtt"][1].removeprefix("Outputs.")
    assert producer == "NetworkStack"
    return {ref["Ref"] for ref in templates["network"]["Outputs"][output]["Value"]["Fn::Join"][1]}


# ---- the network ----------------------------------------------------------------------------


def test_public_mode_builds_no_nat_gateway_and_no_elastic_ip(dev):
    network = dev["network"]
    assert not resources_of(network, "AWS::EC2::NatGateway")
    assert not resources_of(network, "AWS::EC2::EIP")
    assert not [r for r in resources_of(network, "AWS::EC2::Route").values() if "NatGatewayId" in r["Properties"]]


def test_private_subnets_keep_their_own_route_table_with_no_way_out(dev):
    network = dev["network"]
    private = {k for k in resources_of(network, "AWS::EC2::Subnet") if k.startswith("PrivateSubnet")}
    tables = {a["Properties"]["RouteTableId"]["Ref"] for a in resources_of(network, "AWS::EC2::SubnetRouteTableAssociation").values()
              if a["Properties"]["SubnetId"]["Ref"] in private}
    assert len(tables) == 1  # not the VPC's main table, which nothing here manages
    assert not [r for r in resources_of(network, "AWS::EC2::Route").values() if r["Properties"]["RouteTableId"]["Ref"] in tables]
    assert private.isdisjoint(_internet_subnets(network))


def test_tasks_run_in_the_internet_routed_subnets_with_public_ips(dev):
    vpc = _service(dev)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc["AssignPublicIp"] == "ENABLED"  # no NAT: ECR, Secrets Manager and Logs through the internet gateway
    parameter = vpc["Subnets"]["Ref"]
    subnets = _subnets_behind(dev, parameter)
    assert subnets == _internet_subnets(dev["network"]) and len(subnets) == 2


def test_the_task_group_admits_only_the_load_balancers_group_on_the_container_port(dev):
    security = dev["security"]
    group = "ServiceSecurityGroup"
    assert "SecurityGroupIngress" not in security["Resources"][group]["Properties"]
    ingress = [r["Properties"] for r in resources_of(security, "AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}]
    port = load(DEV).service.container_port
    assert ingress == [{**ingress[0], "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                        "SourceSecurityGroupId": {"Fn::GetAtt": ["AlbSecurityGroup", "GroupId"]}}]
    assert not {"CidrIp", "CidrIpv6", "SourcePrefixListId"} & ingress[0].keys()
    # and that group is the load balancer's
    (alb,) = resources_of(dev["load_balancer"], "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert alb["Properties"]["SecurityGroups"] == [{"Ref": "AlbSecurityGroupId"}]


def test_production_keeps_private_subnets_behind_nat(production):
    network = production["network"]
    assert len(resources_of(network, "AWS::EC2::NatGateway")) == 1 and len(resources_of(network, "AWS::EC2::EIP")) == 1
    vpc = _service(production)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc["AssignPublicIp"] == "DISABLED"
    subnets = _subnets_behind(production, vpc["Subnets"]["Ref"])
    assert subnets == {"PrivateSubnet1", "PrivateSubnet2"} and subnets.isdisjoint(_internet_subnets(network))


# ---- who may choose it ----------------------------------------------------------------------


def _keys(data: dict) -> list[str]:
    with pytest.raises(ConfigErrors) as err:
        parse(data)
    return [p.key for p in err.value.problems]


def test_a_production_environment_may_not_choose_the_public_network():
    assert _keys({"network": {"mode": "public"}}) == ["network.mode"]
    assert _keys({"environment": "staging", "network": {"mode": "public"}}) == ["network.mode"]  # production unless it says not


def test_an_environment_named_production_cannot_declare_itself_otherwise():
    for name in ("production", "prod"):
        assert _keys({"environment": name, "production": False, "network": {"mode": "public"}}) == ["production"]


def test_nat_settings_with_no_nat_are_refused_not_ignored():
    assert _keys({"environment": "dev", "production": False, "network": {"mode": "public", "nat_gateways": "per_az"}}) == ["network.nat_gateways"]


def test_dev_is_non_production_on_the_public_network():
    cfg = load(DEV)
    assert (cfg.production, cfg.network.mode) == (False, "public")
    assert Config().network.mode == "private" and Config().production is True


# ---- what it costs --------------------------------------------------------------------------

# Resource types that bill by themselves, and the estimate's line for each (AWS price pages).
BILLED = {
    "AWS::ECS::Service": "Fargate tasks",  # the tasks it keeps running
    "AWS::RDS::DBInstance": "RDS",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Application Load Balancer",
    "AWS::EC2::NatGateway": "NAT gateway",
    "AWS::EC2::EIP": "Public IPv4",
    "AWS::Logs::LogGroup": "CloudWatch Logs",
    "AWS::CloudWatch::Alarm": "CloudWatch alarms",
    "AWS::KMS::Key": "KMS",
    "AWS::SecretsManager::Secret": "Secrets Manager",
    "AWS::Lambda::Function": "Lambda",
    "AWS::ECR::Repository": "ECR",
    "AWS::Route53::RecordSet": "Route 53",
}
# Resource types with no charge of their own, or billed only by usage that the estimate leaves out
# (README, "Cost"), each with why.
UNBILLED = {
    "AWS::CloudFormation::Stack": "no charge for AWS:: resource types",
    "AWS::EC2::VPC": "no charge", "AWS::EC2::Subnet": "no charge", "AWS::EC2::RouteTable": "no charge",
    "AWS::EC2::Route": "no charge", "AWS::EC2::SubnetRouteTableAssociation": "no charge",
    "AWS::EC2::InternetGateway": "no charge (data transfer out is its own line)", "AWS::EC2::VPCGatewayAttachment": "no charge",
    "AWS::EC2::VPCEndpoint": "only Gateway endpoints here (S3), which have no charge; Interface endpoints are priced",
    "AWS::EC2::SecurityGroup": "no charge", "AWS::EC2::SecurityGroupIngress": "no charge", "AWS::EC2::SecurityGroupEgress": "no charge",
    "AWS::EC2::FlowLog": "billed as log ingestion, in the CloudWatch Logs line",
    "AWS::IAM::Role": "no charge", "AWS::IAM::ManagedPolicy": "no charge",
    "AWS::ECS::Cluster": "no charge unless Container Insights is on (checked below)",
    "AWS::ECS::TaskDefinition": "no charge",
    "AWS::ApplicationAutoScaling::ScalableTarget": "no charge", "AWS::ApplicationAutoScaling::ScalingPolicy": "no charge of its own",
    "AWS::ElasticLoadBalancingV2::Listener": "in the ALB's hours", "AWS::ElasticLoadBalancingV2::TargetGroup": "in the ALB's hours",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "in the ALB's hours (LCUs count rule evaluations beyond 10 a request)",
    "AWS::CertificateManager::Certificate": "public ACM certificates have no charge",
    "AWS::RDS::DBParameterGroup": "no charge", "AWS::RDS::DBSubnetGroup": "no charge", "AWS::RDS::OptionGroup": "no charge",
    "AWS::S3::Bucket": "storage and requests of templates and access logs: usage, left out (cents)", "AWS::S3::BucketPolicy": "no charge",
    "AWS::SNS::Topic": "the first 1,000 e-mail notifications a month have no charge", "AWS::SNS::TopicPolicy": "no charge",
    "AWS::SQS::Queue": "the first million requests a month have no charge", "AWS::SQS::QueuePolicy": "no charge",
    "AWS::Events::Rule": "AWS service events on the default bus have no charge",
    "AWS::Lambda::Permission": "no charge",
    "AWS::Budgets::Budget": "the account's first two budgets have no charge",
    "Custom::DefaultSecurityGroupRules": "runs the Lambda, priced", "Custom::LogRetention": "runs the Lambda, priced",
    "Custom::OneOffTask": "runs the Lambda, priced; its Fargate task runs a minute or two a release (under a cent)",
}


def test_dev_costs_at_most_the_target_a_month(dev_cost):
    assert dev_cost["total"] <= TARGET_USD
    assert dev_cost["total"] == round(sum(x["monthly"] for x in dev_cost["lines"]), 2)


def test_every_dev_line_is_priced(dev_cost):
    for x in dev_cost["lines"]:
        assert isinstance(x["unit_price"], (int, float)) and x["unit_price"] > 0, x
        assert x["monthly"] == round(x["quantity"] * x["unit_price"], 2), x


def test_every_billed_resource_of_dev_has_a_line_and_nothing_else_bills(dev, dev_cost):
    types = {r["Type"] for t in dev.values() for r in t.get("Resources", {}).values()}
    assert not types - BILLED.keys() - UNBILLED.keys(), "a resource type neither priced nor known to be free"
    items = [x["item"] for x in dev_cost["lines"]]
    for type_ in types & BILLED.keys():
        assert any(item.startswith(BILLED[type_]) for item in items), (type_, BILLED[type_])
    endpoints = resources_of(dev["network"], "AWS::EC2::VPCEndpoint").values()
    assert {e["Properties"]["VpcEndpointType"] for e in endpoints} == {"Gateway"}
    (cluster,) = resources_of(dev["cluster"], "AWS::ECS::Cluster").values()
    assert cluster["Properties"]["ClusterSettings"] == [{"Name": "containerInsights", "Value": "disabled"}]


def test_dev_pays_for_no_nat_but_for_each_public_address(dev, dev_cost):
    items = [x["item"] for x in dev_cost["lines"]]
    assert not [i for i in items if i.startswith("NAT")]
    (ipv4,) = [x for x in dev_cost["lines"] if x["item"].startswith("Public IPv4")]
    (alb,) = resources_of(dev["load_balancer"], "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    zones = len(_subnets_behind(dev, alb["Properties"]["Subnets"]["Ref"], "LoadBalancerStack"))
    assert ipv4["quantity"] == zones + load(DEV).service.min_tasks  # one per ALB zone, one per running task
    assert ipv4["unit_price"] == PUBLIC_IPV4_MONTH



def test_readme_states_the_dev_total_the_estimate_gives(dev_cost):
    from tests.conftest import PROJECT_ROOT

    readme = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = readme.split("## A cheap development network", 1)[1].split("\n## ", 1)[0]
    assert f"| **Total** | **118.89** | **{dev_cost['total']:.2f}** |" in section
