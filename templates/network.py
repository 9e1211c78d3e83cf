"""Network stack: the VPC across two AZs, public and private subnets, the internet gateway,
NAT gateway(s), route tables, the S3 gateway endpoint, VPC flow logs, and the custom resource
that revokes the rules of the VPC's default security group.

Inputs: none. Outputs: the constants below.
`network.nat_gateways: single` reproduces the seed (one NAT in the first AZ, one private route
table); `per_az` gives each AZ its own NAT and private route table, so egress survives an AZ loss.
`network.mode: public` (non-production only) builds no NAT gateway and no Elastic IP: the tasks run
in the public subnets with public IPs, and the private subnets, for the database, have no route out.
"""

from __future__ import annotations

from awacs import logs as awacs_logs
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, Join, Ref, Sub, Template
from troposphere.ec2 import (
    EIP,
    VPC,
    FlowLog,
    InternetGateway,
    NatGateway,
    Route,
    RouteTable,
    Subnet,
    SubnetRouteTableAssociation,
    VPCEndpoint,
    VPCGatewayAttachment,
)
from troposphere.iam import Policy, Role
from troposphere.logs import LogGroup

from enrollcfn.config import Config
from enrollcfn.templates import _control_tower
from enrollcfn.templates._custom_resources import restrict_default_security_group
from enrollcfn.templates._helpers import name_tags, output, scanner_skips, service_role_trust
from enrollcfn.templates.bootstrap import product_role

VPC_ID = "VpcId"
VPC_CIDR = "VpcCidr"
PUBLIC_SUBNET_IDS = "PublicSubnetIds"
PRIVATE_SUBNET_IDS = "PrivateSubnetIds"


def build(cfg: Config) -> Template:
    """The network template for `cfg`."""
    egress = "NAT" if cfg.network.mode == "private" else "no NAT (tasks in public subnets)"
    t = Template(Description=f"{cfg.project} {cfg.environment}: VPC, subnets, {egress}, S3 endpoint, flow logs")
    t.set_version()
    vpc = t.add_resource(
        VPC(
            "Vpc",
            CidrBlock=cfg.network.vpc_cidr,
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=name_tags(cfg, "vpc"),
        )
    )
    public, private = _subnets(t, cfg, vpc)
    public_rt, attach = _public_routing(t, cfg, vpc, public)
    private_rts = _private_routing(t, cfg, vpc, public, private, attach)
    if cfg.network.s3_gateway_endpoint:
        t.add_resource(
            VPCEndpoint(
                "S3GatewayEndpoint",
                VpcId=Ref(vpc),
                ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),  # fix: the seed hard-coded the region
                VpcEndpointType="Gateway",
                RouteTableIds=[Ref(public_rt)] + [Ref(rt) for rt in private_rts],
                Tags=name_tags(cfg, "s3-endpoint"),  # the launch role may change only resources named ours
            )
        )
    _control_tower.network(t, cfg, vpc)  # compliance: control-tower: the log key, the functions' group
    _flow_logs(t, cfg, vpc)
    restrict_default_security_group(t, cfg, vpc)  # fix: the seed left the default group open (EC2.2)

    output(t, VPC_ID, Ref(vpc), "The VPC")
    output(t, VPC_CIDR, GetAtt(vpc, "CidrBlock"), "The VPC's IPv4 CIDR block")
    output(t, PUBLIC_SUBNET_IDS, Join(",", [Ref(s) for s in public]), "Public subnets, one per AZ (comma-separated)")
    output(t, PRIVATE_SUBNET_IDS, Join(",", [Ref(s) for s in private]), "Private subnets, one per AZ (comma-separated)")
    return t


def _subnets(t: Template, cfg: Config, vpc: VPC) -> tuple[list[Subnet], list[Subnet]]:
    public, private = [], []
    zones = cfg.network.availability_zones
    # Zones are named in config (seed: ap-southeast-2a/b) and validated against the region there.
    pinned = scanner_skips(cfn_lint={"W3010": "zones come from network.availability_zones, validated against the region"})
    for i, (az, pub, priv) in enumerate(zip(zones, cfg.network.public_subnets, cfg.network.private_subnets), 1):
        # fix: the seed auto-assigned public IPs in public subnets; nothing here needs them,
        # the ALB and the NAT (EIP) get their own addresses (EC2.15).
        public.append(
            t.add_resource(
                Subnet(
                    f"PublicSubnet{i}",
                    VpcId=Ref(vpc),
                    CidrBlock=pub,
                    AvailabilityZone=az,
                    MapPublicIpOnLaunch=False,
                    Tags=name_tags(cfg, f"public-subnet-{i}"),
                    Metadata=pinned,
                )
            )
        )
        private.append(
            t.add_resource(
                Subnet(
                    f"PrivateSubnet{i}",
                    VpcId=Ref(vpc),
                    CidrBlock=priv,
                    AvailabilityZone=az,
                    MapPublicIpOnLaunch=False,
                    Tags=name_tags(cfg, f"private-subnet-{i}"),
                    Metadata=pinned,
                )
            )
        )
    return public, private


def _public_routing(t: Template, cfg: Config, vpc: VPC, public: list[Subnet]) -> tuple[RouteTable, VPCGatewayAttachment]:
    igw = t.add_resource(InternetGateway("InternetGateway", Tags=name_tags(cfg, "igw")))
    attach = t.add_resource(VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(igw)))
    rt = t.add_resource(RouteTable("PublicRouteTable", VpcId=Ref(vpc), Tags=name_tags(cfg, "public-rt")))
    # The route needs the attachment, not just the gateway, or it fails while the IGW is detached.
    t.add_resource(
        Route("PublicDefaultRoute", RouteTableId=Ref(rt), DestinationCidrBlock="0.0.0.0/0", GatewayId=Ref(igw), DependsOn=[attach])
    )
    for i, subnet in enumerate(public, 1):
        t.add_resource(SubnetRouteTableAssociation(f"PublicSubnet{i}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(rt)))
    return rt, attach


def _private_routing(t: Template, cfg: Config, vpc: VPC, public: list[Subnet], private: list[Subnet],
                     attach: VPCGatewayAttachment) -> list[RouteTable]:
    nat = cfg.network.mode == "private"
    per_az = nat and cfg.network.nat_gateways == "per_az"
    count = len(private) if per_az else 1
    suffix = (lambda i: str(i)) if per_az else (lambda i: "")
    tables = []
    for i in range(1, count + 1):
        rt = t.add_resource(RouteTable(f"PrivateRouteTable{suffix(i)}", VpcId=Ref(vpc), Tags=name_tags(cfg, f"private-rt{'-' + suffix(i) if per_az else ''}")))
        # network.mode public: no NAT and no route out; the private subnets hold only the database.
        if nat:
            gateway = _nat_gateway(t, cfg, public[i - 1], suffix(i), per_az, attach)
            t.add_resource(Route(f"PrivateDefaultRoute{suffix(i)}", RouteTableId=Ref(rt), DestinationCidrBlock="0.0.0.0/0", NatGatewayId=Ref(gateway)))
        tables.append(rt)
    for i, subnet in enumerate(private, 1):
        rt = tables[i - 1] if per_az else tables[0]
        t.add_resource(SubnetRouteTableAssociation(f"PrivateSubnet{i}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(rt)))
    return tables


def _nat_gateway(t: Template, cfg: Config, subnet: Subnet, suffix: str, per_az: bool, attach: VPCGatewayAttachment) -> NatGateway:
    """A NAT gateway in `subnet` with its Elastic IP, both after the internet gateway is attached:
    neither references the attachment, so without DependsOn CloudFormation may create them first,
    and a public NAT gateway made before its VPC has an attached internet gateway fails (an EIP
    "requires an internet gateway attached to the VPC", AWS::EC2::EIP and the DependsOn
    attribute's documented example)."""
    role = f"-{suffix}" if per_az else ""
    eip = t.add_resource(EIP(f"NatEip{suffix}", Domain="vpc", Tags=name_tags(cfg, f"nat-eip{role}"), DependsOn=[attach]))
    return t.add_resource(
        NatGateway(f"NatGateway{suffix}", AllocationId=GetAtt(eip, "AllocationId"), SubnetId=Ref(subnet), Tags=name_tags(cfg, f"nat{role}"),
                   DependsOn=[attach])
    )


def _flow_logs(t: Template, cfg: Config, vpc: VPC) -> None:
    """fix: the seed had no flow logs (Security Hub EC2.6)."""
    group = t.add_resource(
        LogGroup(
            "FlowLogGroup",
            RetentionInDays=cfg.logs.retention_days,
            **_control_tower.log_encryption(t, cfg),
            Metadata=scanner_skips(checkov={"CKV_AWS_158": "Encrypted with the CloudWatch Logs service key; no customer key is chosen for flow metadata"}),
        )
    )
    write = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Action=[awacs_logs.CreateLogStream, awacs_logs.PutLogEvents, awacs_logs.DescribeLogStreams],
                Resource=[GetAtt(group, "Arn")],
            )
        ],
    )
    role = t.add_resource(
        Role("FlowLogRole", AssumeRolePolicyDocument=service_role_trust("vpc-flow-logs.amazonaws.com"), Policies=[Policy(PolicyName="write-flow-logs", PolicyDocument=write)], **product_role(cfg))
    )
    t.add_resource(
        FlowLog(
            "VpcFlowLog",
            ResourceId=Ref(vpc),
            ResourceType="VPC",
            TrafficType=cfg.network.flow_logs_traffic,
            LogDestinationType="cloud-watch-logs",
            LogGroupName=Ref(group),
            DeliverLogsPermissionArn=GetAtt(role, "Arn"),
            Tags=name_tags(cfg, "flow-log"),
        )
    )

