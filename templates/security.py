"""Security stack: every security group and the rules between them (ALB -> service -> database).

Inputs: VpcId. Outputs: the three group ids below.
Cross-group rules are separate Ingress/Egress resources so the groups can reference each other
without a circular dependency. Every group states its egress: CloudFormation otherwise adds an
allow-all rule.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Template
from troposphere.ec2 import SecurityGroup, SecurityGroupEgress, SecurityGroupIngress, SecurityGroupRule

from enrollcfn.config import Config
from enrollcfn.templates._helpers import name_tags, output, param, scanner_skips
from enrollcfn.templates.network import VPC_ID

ALB_SECURITY_GROUP_ID = "AlbSecurityGroupId"
SERVICE_SECURITY_GROUP_ID = "ServiceSecurityGroupId"
DATABASE_SECURITY_GROUP_ID = "DatabaseSecurityGroupId"

MYSQL_PORT = 3306  # the default of database.port

# CloudFormation cannot express "no egress" except by a rule that matches nothing: ICMP type 252
# code 86 to the broadcast address (the same rule the AWS CDK emits for allowAllOutbound=false).
_NO_EGRESS = SecurityGroupRule(
    IpProtocol="icmp", FromPort=252, ToPort=86, CidrIp="255.255.255.255/32", Description="No outbound traffic"
)


def build(cfg: Config) -> Template:
    """The security-group template for `cfg`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: security groups for the ALB, the service and the database")
    t.set_version()
    vpc = param(t, VPC_ID, "AWS::EC2::VPC::Id", "VPC the groups belong to")
    port = cfg.service.container_port
    # network.mode public: the tasks have public IPs, so this group (the container port from the
    # ALB's group only) is all that stands between them and the internet.
    way_out = "the NAT gateway" if cfg.network.mode == "private" else "the internet gateway (tasks have public IPs)"

    alb = t.add_resource(
        SecurityGroup(
            "AlbSecurityGroup",
            GroupDescription="Internet-facing ALB: HTTP (redirect only) and HTTPS from anywhere",
            VpcId=Ref(vpc),
            # The address families of the ALB's IpAddressType (load_balancer.ip_address_type, the same
            # value the load-balancer stack sets), so the group opens no range the ALB has no address in.
            SecurityGroupIngress=[
                SecurityGroupRule(IpProtocol="tcp", FromPort=p, ToPort=p, Description=f"{what} from anywhere ({fam})", **{key: cidr})
                for p, what in ((80, "HTTP, answered with a 301 to HTTPS"), (443, "HTTPS"))
                for fam, key, cidr in cfg.load_balancer.open_ranges
            ],
            SecurityGroupEgress=[_NO_EGRESS],  # replaced by the rule to the service group below
            Tags=name_tags(cfg, "alb-sg"),
            Metadata=scanner_skips(checkov={"CKV_AWS_260": "Public API: port 80 only answers with a 301 redirect to HTTPS (ELB.1)"}),
        )
    )
    service = t.add_resource(
        SecurityGroup(
            "ServiceSecurityGroup",
            GroupDescription="Fargate tasks: the container port from the ALB only",
            VpcId=Ref(vpc),
            SecurityGroupEgress=[
                # fix: the seed allowed all egress. Tasks need HTTPS to ECR, Logs, Secrets
                # Manager, S3 and Rekognition (through the NAT, or the internet gateway in
                # network.mode public, and the S3 endpoint), and MySQL.
                SecurityGroupRule(IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0", Description=f"HTTPS to AWS APIs through {way_out}"),
            ],
            Tags=name_tags(cfg, "service-sg"),
        )
    )
    database = t.add_resource(
        SecurityGroup(
            "DatabaseSecurityGroup",
            GroupDescription=f"RDS MySQL: {cfg.database.port} from the service only",
            VpcId=Ref(vpc),
            SecurityGroupEgress=[_NO_EGRESS],  # fix: the seed allowed all egress; MySQL initiates nothing
            Tags=name_tags(cfg, "database-sg"),
        )
    )
    _link(t, "AlbToService", alb, service, port, "ALB to the container port")
    _link(t, "ServiceToDatabase", service, database, cfg.database.port, "Service to MySQL")
    for name, group, what in ((ALB_SECURITY_GROUP_ID, alb, "the load balancer"), (SERVICE_SECURITY_GROUP_ID, service, "the Fargate tasks"), (DATABASE_SECURITY_GROUP_ID, database, "the database")):
        output(t, name, GetAtt(group, "GroupId"), f"Security group of {what}")
    return t


def _link(t: Template, title: str, source: SecurityGroup, target: SecurityGroup, port: int, description: str) -> None:
    """Allow `source` to reach `target` on one TCP port: egress on one side, ingress on the other."""
    t.add_resource(
        SecurityGroupEgress(
            f"{title}Egress",
            GroupId=GetAtt(source, "GroupId"),
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            DestinationSecurityGroupId=GetAtt(target, "GroupId"),
            Description=description,
        )
    )
    t.add_resource(
        SecurityGroupIngress(
            f"{title}Ingress",
            GroupId=GetAtt(target, "GroupId"),
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            SourceSecurityGroupId=GetAtt(source, "GroupId"),
            Description=description,
        )
    )
