"""Invariants of the bootstrap, network and security stacks and of the root wiring.

Each test says why the golden build/ looks as it does; each fails if the hardening is reverted.
"""

from __future__ import annotations

import json
import re

import pytest
from cfn_flip import load_yaml

from enrollcfn.compiler import compile
from enrollcfn.config import Config
from tests.conftest import intrinsics, resources_of


def compile_with(**network) -> dict:
    cfg = Config(network=network)
    return {name: load_yaml(text) for name, text in compile(cfg).bodies().items()}


# ---- every template -----------------------------------------------------------------------


def test_every_template_parameter_and_output_has_a_description(rendered):
    for name, template in rendered.items():
        assert template.get("Description"), name
        for kind in ("Parameters", "Outputs"):
            for key, value in template.get(kind, {}).items():
                assert value.get("Description"), f"{name}: {kind}.{key} has no Description"


def test_no_template_exports_anything(rendered):
    for name, template in rendered.items():
        for key, value in template.get("Outputs", {}).items():
            assert "Export" not in value, f"{name}: output {key} is exported"


def test_logical_ids_are_pascal_case(rendered):
    for name, template in rendered.items():
        for logical_id in template["Resources"]:
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", logical_id), f"{name}: {logical_id}"


def test_every_log_group_has_a_retention(rendered):
    groups = [(n, k, v) for n, t in rendered.items() for k, v in resources_of(t, "AWS::Logs::LogGroup").items()]
    assert groups
    for name, key, group in groups:
        assert group["Properties"].get("RetentionInDays"), f"{name}: {key} never expires"


def test_no_account_id_or_region_literal_in_templates(compiled):
    from enrollcfn.templates.load_balancer import ELB_ACCOUNTS

    aws_owned = set(ELB_ACCOUNTS.values())  # the regional ELB log-delivery accounts
    for name, text in compiled.bodies().items():
        accounts = set(re.findall(r"\b\d{12}\b", text)) - aws_owned
        assert not accounts, f"{name} has account id literals {accounts}"
        assert "arn:aws:" not in text, f"{name} has a literal ARN; use pseudo parameters"


# ---- bootstrap ----------------------------------------------------------------------------


def test_artifact_bucket_is_private_versioned_encrypted_and_tls_only(rendered):
    t = rendered["bootstrap"]
    (bucket,) = resources_of(t, "AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert props["VersioningConfiguration"]["Status"] == "Enabled"
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    (policy,) = resources_of(t, "AWS::S3::BucketPolicy").values()
    (statement,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "DenyInsecureTransport"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_repository_matches_the_seed_and_survives_stack_deletion(rendered):
    (repo,) = resources_of(rendered["bootstrap"], "AWS::ECR::Repository").values()
    props = repo["Properties"]
    assert props["RepositoryName"] == "student-enrollment-production"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"] == {"EncryptionType": "AES256"}
    (rule,) = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30}
    assert rule["action"] == {"type": "expire"}
    assert repo["DeletionPolicy"] == repo["UpdateReplacePolicy"] == "Retain"


# ---- network ------------------------------------------------------------------------------


def test_vpc_and_subnets_are_the_seeds(rendered):
    t = rendered["network"]
    (vpc,) = resources_of(t, "AWS::EC2::VPC").values()
    assert vpc["Properties"]["CidrBlock"] == "192.168.0.0/24"
    assert vpc["Properties"]["EnableDnsSupport"] is True and vpc["Properties"]["EnableDnsHostnames"] is True
    subnets = {k: (v["Properties"]["CidrBlock"], v["Properties"]["AvailabilityZone"]) for k, v in resources_of(t, "AWS::EC2::Subnet").items()}
    assert subnets == {
        "PublicSubnet1": ("192.168.0.0/26", "ap-southeast-2a"),
        "PublicSubnet2": ("192.168.0.64/26", "ap-southeast-2b"),
        "PrivateSubnet1": ("192.168.0.128/26", "ap-southeast-2a"),
        "PrivateSubnet2": ("192.168.0.192/26", "ap-southeast-2b"),
    }


def test_no_subnet_auto_assigns_public_ips(rendered):
    for key, subnet in resources_of(rendered["network"], "AWS::EC2::Subnet").items():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False, key


def test_single_nat_serves_both_private_subnets_like_the_seed(rendered):
    t = rendered["network"]
    assert len(resources_of(t, "AWS::EC2::NatGateway")) == 1
    assert len(resources_of(t, "AWS::EC2::RouteTable")) == 2
    private = {v["Properties"]["SubnetId"]["Ref"]: v["Properties"]["RouteTableId"]["Ref"] for v in resources_of(t, "AWS::EC2::SubnetRouteTableAssociation").values()}
    assert private["PrivateSubnet1"] == private["PrivateSubnet2"] == "PrivateRouteTable"


def test_per_az_nat_gives_each_zone_its_own_nat_and_route_table():
    t = compile_with(nat_gateways="per_az")["network"]
    nats = resources_of(t, "AWS::EC2::NatGateway")
    assert {v["Properties"]["SubnetId"]["Ref"] for v in nats.values()} == {"PublicSubnet1", "PublicSubnet2"}
    routes = {v["Properties"]["RouteTableId"]["Ref"]: v["Properties"].get("NatGatewayId", {}).get("Ref") for v in resources_of(t, "AWS::EC2::Route").values()}
    assert routes["PrivateRouteTable1"] == "NatGateway1" and routes["PrivateRouteTable2"] == "NatGateway2"
    assoc = {v["Properties"]["SubnetId"]["Ref"]: v["Properties"]["RouteTableId"]["Ref"] for v in resources_of(t, "AWS::EC2::SubnetRouteTableAssociation").values()}
    assert assoc["PrivateSubnet1"] == "PrivateRouteTable1" and assoc["PrivateSubnet2"] == "PrivateRouteTable2"


@pytest.mark.parametrize("mode", ["single", "per_az"])
def test_s3_gateway_endpoint_serves_every_route_table(mode):
    t = compile_with(nat_gateways=mode)["network"]
    (endpoint,) = resources_of(t, "AWS::EC2::VPCEndpoint").values()
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert endpoint["Properties"]["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"}
    assert {r["Ref"] for r in endpoint["Properties"]["RouteTableIds"]} == set(resources_of(t, "AWS::EC2::RouteTable"))


def test_public_route_waits_for_the_gateway_attachment(rendered):
    route = rendered["network"]["Resources"]["PublicDefaultRoute"]
    assert route["DependsOn"] == ["InternetGatewayAttachment"]


def test_vpc_flow_logs_go_to_a_retained_log_group_with_a_scoped_role(rendered):
    t = rendered["network"]
    (flow,) = resources_of(t, "AWS::EC2::FlowLog").values()
    assert flow["Properties"]["ResourceType"] == "VPC" and flow["Properties"]["TrafficType"] == "REJECT"
    role = t["Resources"][flow["Properties"]["DeliverLogsPermissionArn"]["Fn::GetAtt"][0]]
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Resource"] == [{"Fn::GetAtt": ["FlowLogGroup", "Arn"]}]


# ---- security -----------------------------------------------------------------------------


def _rules(t: dict) -> list[dict]:
    """Every ingress/egress rule, inline or standalone, with its direction and owning group."""
    rules = []
    for key, sg in resources_of(t, "AWS::EC2::SecurityGroup").items():
        for direction in ("SecurityGroupIngress", "SecurityGroupEgress"):
            for rule in sg["Properties"].get(direction, []):
                rules.append({"group": key, "direction": direction, **rule})
    for type_, direction in (("AWS::EC2::SecurityGroupIngress", "SecurityGroupIngress"), ("AWS::EC2::SecurityGroupEgress", "SecurityGroupEgress")):
        for rule in resources_of(t, type_).values():
            props = dict(rule["Properties"])
            group = props.pop("GroupId")["Fn::GetAtt"][0]
            rules.append({"group": group, "direction": direction, **props})
    return rules


def test_only_the_alb_is_open_to_the_internet_and_only_on_80_and_443(rendered):
    for rule in _rules(rendered["security"]):
        if rule["direction"] == "SecurityGroupIngress" and ("CidrIp" in rule or "CidrIpv6" in rule):
            assert rule["group"] == "AlbSecurityGroup", rule
            assert rule["FromPort"] == rule["ToPort"] and rule["FromPort"] in (80, 443), rule


def _families(ip_address_type: str) -> set[str]:
    """The address families a load balancer of `ip_address_type` has, from botocore's ELBv2 model
    (IpAddressType: ipv4, dualstack, dualstack-without-public-ipv4) and the ELB guide ("Update the
    IP address types for your Application Load Balancer": dualstack serves IPv4 and IPv6, and its
    security groups must allow IPv6 traffic)."""
    import botocore.session

    enum = botocore.session.get_session().get_service_model("elbv2").shape_for("IpAddressType").enum
    assert ip_address_type in enum
    return {"ipv4"} if ip_address_type == "ipv4" else {"ipv4", "ipv6"}


def test_the_alb_group_opens_exactly_the_address_families_the_alb_has(rendered):
    """An ipv4 ALB whose group also opens ::/0 (or a dualstack one without it) mismatches: the
    ingress CIDR families of the ALB's group follow its IpAddressType."""
    (alb,) = resources_of(rendered["load_balancer"], "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    wanted = _families(alb["Properties"]["IpAddressType"])
    internet = [r for r in _rules(rendered["security"]) if r["group"] == "AlbSecurityGroup" and r["direction"] == "SecurityGroupIngress"]
    opened = {"ipv4" for r in internet if r.get("CidrIp") == "0.0.0.0/0"} | {"ipv6" for r in internet if r.get("CidrIpv6") == "::/0"}
    assert opened == wanted == {"ipv4"}
    assert not any("CidrIpv6" in r for r in internet)
    assert {(r["FromPort"], "CidrIp" in r) for r in internet} == {(80, True), (443, True)}


def test_a_dualstack_alb_would_open_ipv6_too_and_is_refused_while_the_vpc_has_no_ipv6():
    from enrollcfn.config.load_balancer import LoadBalancer

    for value in ("ipv4", "dualstack", "dualstack-without-public-ipv4"):
        families = {"ipv4" if key == "CidrIp" else "ipv6" for _, key, _ in LoadBalancer.model_construct(ip_address_type=value).open_ranges}
        assert families == _families(value), value
    # refused in the config (tests/test_app_stacks.py BAD): the ELB guide's dualstack requirements
    # include IPv6 CIDR blocks on the VPC and subnets, and the network stack creates none
    assert not resources_of(compile(Config())["network"].doc, "AWS::EC2::VPCCidrBlock")


def test_service_takes_the_container_port_from_the_alb_only(rendered):
    ingress = [r for r in _rules(rendered["security"]) if r["group"] == "ServiceSecurityGroup" and r["direction"] == "SecurityGroupIngress"]
    assert len(ingress) == 1
    assert ingress[0]["FromPort"] == ingress[0]["ToPort"] == Config().service.container_port == 80  # the seed image's nginx
    assert ingress[0]["SourceSecurityGroupId"] == {"Fn::GetAtt": ["AlbSecurityGroup", "GroupId"]}


def test_database_takes_3306_from_the_service_only_and_sends_nothing(rendered):
    rules = [r for r in _rules(rendered["security"]) if r["group"] == "DatabaseSecurityGroup"]
    ingress = [r for r in rules if r["direction"] == "SecurityGroupIngress"]
    assert len(ingress) == 1 and ingress[0]["FromPort"] == ingress[0]["ToPort"] == 3306
    assert ingress[0]["SourceSecurityGroupId"] == {"Fn::GetAtt": ["ServiceSecurityGroup", "GroupId"]}
    (egress,) = [r for r in rules if r["direction"] == "SecurityGroupEgress"]
    assert egress["CidrIp"] == "255.255.255.255/32"


def test_every_group_states_its_egress_and_every_rule_is_described(rendered):
    t = rendered["security"]
    for key, sg in resources_of(t, "AWS::EC2::SecurityGroup").items():
        assert sg["Properties"].get("SecurityGroupEgress"), f"{key} would get CloudFormation's allow-all egress"
    for rule in _rules(t):
        assert rule.get("Description"), rule
        assert rule["IpProtocol"] != "-1", rule


# ---- root wiring --------------------------------------------------------------------------


def test_root_wires_child_parameters_to_outputs_of_the_same_name(rendered):
    root = rendered["root"]
    for stack in resources_of(root, "AWS::CloudFormation::Stack").values():
        for name, value in stack["Properties"].get("Parameters", {}).items():
            if "Fn::GetAtt" in value:
                assert value["Fn::GetAtt"][1] == f"Outputs.{name}"
            elif name == "RootStackId":  # the root gives itself: the redeploy function updates it
                assert value == {"Ref": "AWS::StackId"}
            else:
                assert value == {"Ref": name}


def test_root_uses_local_template_urls_in_build(rendered):
    for key, stack in resources_of(rendered["root"], "AWS::CloudFormation::Stack").items():
        assert re.fullmatch(r"[a-z_]+\.yaml", stack["Properties"]["TemplateURL"]), key



# ---- EC2.2: the default security group ----------------------------------------------------------


def test_default_security_group_is_closed_by_a_custom_resource_on_the_vpcs_own_group(rendered):
    """EC2.2 wants the VPC's default group to have no rules; the custom resource revokes them
    on the group CloudFormation reports as the VPC's DefaultSecurityGroup."""
    net = rendered["network"]
    (custom,) = resources_of(net, "Custom::DefaultSecurityGroupRules").values()
    p = custom["Properties"]
    assert p["GroupId"] == {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]}
    assert p["Account"] == {"Ref": "AWS::AccountId"}
    assert p["ServiceToken"] == {"Fn::GetAtt": ["DefaultSecurityGroupFunction", "Arn"]}
    assert 1 <= p["ServiceTimeout"] <= 3600  # CloudFormation's documented range for ServiceTimeout


def test_default_security_group_function_may_only_revoke_rules_of_that_group(rendered):
    net = rendered["network"]
    fn = net["Resources"]["DefaultSecurityGroupFunction"]["Properties"]
    role = net["Resources"][fn["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = [s for pol in role["Policies"] for s in pol["PolicyDocument"]["Statement"]]
    ec2 = [s for s in statements if any(a.startswith("ec2:") for a in s["Action"])]
    (only,) = ec2
    assert sorted(only["Action"]) == ["ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"]
    (arn,) = only["Resource"]
    assert arn["Fn::Sub"].endswith(":security-group/${Vpc.DefaultSecurityGroup}")
    assert all("*" not in json.dumps(s["Resource"]) for s in statements)
    assert fn["Runtime"] == "python3.13" and "ReservedConcurrentExecutions" not in fn
    logs = fn["LoggingConfig"]["LogGroup"]["Ref"]
    assert net["Resources"][logs]["Properties"]["RetentionInDays"] == 30
    assert "urllib.request" in fn["Code"]["ZipFile"] and "cfnresponse" not in fn["Code"]["ZipFile"]


# ---- the README's table of controls --------------------------------------------------------------


def _readme_controls() -> tuple[set[str], set[str]]:
    """(held, not held) FSBP control ids as the README's security section states them."""
    from tests.conftest import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    section = text[text.index("## Security controls") : text.index("## Running the seed application")]
    held_text = section[section.index("controls the templates hold:") : section.index("Not held, and why:")]
    table = section[section.index("Not held, and why:") :].split("\n\n")[1]
    ids = re.compile(r"\b([A-Z][A-Za-z0-9]+\.\d+)\b")

    def expand(chunk: str) -> set[str]:
        found = set(ids.findall(chunk))
        for service, rest in re.findall(r"\b([A-Z][A-Za-z0-9]+)\.(\d+(?:/\d+)+)", chunk):  # S3.2/3/8
            found |= {f"{service}.{n}" for n in rest.split("/")}
        return found

    not_held = set().union(*(expand(row.split("|")[1]) for row in table.splitlines() if row.startswith("| ") and "---" not in row))
    return expand(held_text) - {"S3.2/3/8"}, not_held


def test_readme_never_claims_a_control_both_held_and_not_held():
    held, not_held = _readme_controls()
    assert held and not_held
    assert held & not_held == set()
    assert {"EC2.2", "ECS.5", "ECR.2", "RDS.9"} <= held
    # the default runs the seed image's root user; the hardened setting holds ECS.20
    assert {"SecretsManager.1", "RDS.5", "ECS.20"} <= not_held


def _referenced(props) -> set[str]:
    """The logical ids `props` names with Ref or GetAtt (parameters and pseudo parameters too)."""
    return {*intrinsics(props, "Ref"), *(arg[0] for arg in intrinsics(props, "Fn::GetAtt"))}


def _needs(doc: dict, logical_id: str) -> set[str]:
    """Every resource `logical_id` waits for: DependsOn, Ref and GetAtt, followed to the end."""
    resources = doc["Resources"]

    def direct(lid: str) -> set[str]:
        depends = resources[lid].get("DependsOn", [])
        named = {depends} if isinstance(depends, str) else set(depends)
        return named | (_referenced(resources[lid].get("Properties", {})) & resources.keys())

    seen, todo = set(), [logical_id]
    while todo:
        for dep in direct(todo.pop()) - seen:
            seen.add(dep)
            todo.append(dep)
    return seen


NETWORKS = {
    "single NAT": {"network": {"nat_gateways": "single"}},
    "NAT per zone": {"network": {"nat_gateways": "per_az"}},
    "public, no NAT": {"environment": "dev", "production": False, "network": {"mode": "public"}},
}


@pytest.mark.parametrize("settings", NETWORKS.values(), ids=NETWORKS.keys())
def test_whatever_needs_the_internet_gateway_waits_for_its_attachment(settings):
    # A route to an IGW, an Elastic IP and a public NAT gateway fail while the gateway is not
    # attached to the VPC (AWS::EC2::EIP, DependsOn attribute documentation); CloudFormation
    # orders only what references something, so each must reach the attachment. Chosen from the
    # template read back: every resource that references the gateway or an Elastic IP, and every
    # Elastic IP and NAT gateway.
    doc = compile(Config(**settings)).stacks["network"].doc
    resources = doc["Resources"]
    [attachment] = [lid for lid, r in resources.items() if r["Type"] == "AWS::EC2::VPCGatewayAttachment"]
    gateways = {lid for lid, r in resources.items() if r["Type"] == "AWS::EC2::InternetGateway"}
    eips = {lid for lid, r in resources.items() if r["Type"] == "AWS::EC2::EIP"}
    users = {lid for lid, r in resources.items() if lid != attachment
             and (r["Type"] in ("AWS::EC2::EIP", "AWS::EC2::NatGateway") or _referenced(r.get("Properties", {})) & (gateways | eips))}
    nats = len({lid for lid in users if resources[lid]["Type"] == "AWS::EC2::NatGateway"})
    assert "PublicDefaultRoute" in users and len(eips) == nats  # the public route, each NAT and its EIP
    assert len(users) == 1 + 2 * nats
    for lid in sorted(users):
        assert attachment in _needs(doc, lid), f"{lid} may be created before the internet gateway is attached"


def test_stacks_in_the_public_subnets_start_after_the_network_stack(rendered):
    # The internet-facing load balancer and (network.mode public) the tasks with public IPs need
    # the attached gateway too; they are in other stacks, which the root creates only after the
    # network stack completes because their subnets come from its outputs.
    root = rendered["root"]["Resources"]
    for lid, stack in root.items():
        subnets = {k: v for k, v in stack.get("Properties", {}).get("Parameters", {}).items() if k.endswith("SubnetIds")}
        for value in subnets.values():
            assert value["Fn::GetAtt"][0] == "NetworkStack", (lid, value)
    assert any("PublicSubnetIds" in s.get("Properties", {}).get("Parameters", {}) for s in root.values())
