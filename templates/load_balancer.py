"""Load-balancer stack: the internet-facing ALB with its access-log bucket, the target group the
service registers into, the HTTP listener (a 301 to HTTPS) and the HTTPS listener, the ACM
certificate validated through DNS in the hosted zone, and the Route53 alias for the API.

Inputs: VpcId, PublicSubnetIds, AlbSecurityGroupId, ApiDomain. Outputs: the constants below.
The listeners live here with the target group, so the service stack (which starts only after
this whole stack is complete) never registers into a target group without a listener.
"""

from __future__ import annotations

from awacs import s3 as awacs_s3
from awacs.aws import Allow, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Join, Ref, Sub, Template
from troposphere.certificatemanager import Certificate, DomainValidationOption
from troposphere.elasticloadbalancingv2 import (
    Action,
    Certificate as ListenerCertificate,
    Condition,
    ForwardConfig,
    HttpHeaderConfig,
    Listener,
    ListenerRule,
    ListenerRuleAction,
    LoadBalancer,
    LoadBalancerAttributes,
    Matcher,
    PathPatternConfig,
    RedirectConfig,
    TargetGroup,
    TargetGroupAttribute,
    TargetGroupTuple,
)
from troposphere.route53 import AliasTarget, RecordSetType
from troposphere.s3 import Bucket, BucketPolicy, LifecycleConfiguration, LifecycleRule, NoncurrentVersionExpiration, VersioningConfiguration

from enrollcfn.config import Config
from enrollcfn.templates._helpers import name_tags, output, param, private_bucket_properties, scanner_skips, tls_only_statement
from enrollcfn.templates.network import PUBLIC_SUBNET_IDS, VPC_ID
from enrollcfn.templates.security import ALB_SECURITY_GROUP_ID

LOAD_BALANCER_DNS_NAME = "LoadBalancerDnsName"
LOAD_BALANCER_FULL_NAME = "LoadBalancerFullName"
LOAD_BALANCER_ARN = "LoadBalancerArn"
TARGET_GROUP_ARN = "TargetGroupArn"
TARGET_GROUP_FULL_NAME = "TargetGroupFullName"
# A progressive release (service.deployment.strategy BLUE_GREEN, LINEAR or CANARY): the second
# target group the new revision starts behind, the HTTPS listener's rules whose weights ECS moves,
# and the listener itself.
ALTERNATE_TARGET_GROUP_ARN = "AlternateTargetGroupArn"
PRODUCTION_LISTENER_RULE_ARN = "ProductionListenerRuleArn"
TEST_LISTENER_RULE_ARN = "TestListenerRuleArn"
HTTPS_LISTENER_ARN = "HttpsListenerArn"
# Requests carrying this header reach the new revision before production traffic moves (smoke
# checks during a release); without a release in progress they reach the running one.
TEST_HEADER = "X-Release-Test"
API_URL = "ApiUrl"
API_DOMAIN = "ApiDomain"  # a root Parameter

ACCESS_LOG_PREFIX = "alb"

# Regions opened before August 2022 deliver ALB access logs from a regional ELB account; newer
# regions use the log-delivery service principal (Elastic Load Balancing user guide).
ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580", "ap-south-1": "718504428378", "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864", "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-south-1": "635631232127",
    "eu-west-3": "009996457667", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}  # fmt: skip


def build(cfg: Config) -> Template:
    """The load-balancer template for `cfg`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: internet-facing ALB with HTTPS, ACM certificate and Route53 alias")
    t.set_version()
    vpc = param(t, VPC_ID, "AWS::EC2::VPC::Id", "VPC of the target group")
    subnets = param(t, PUBLIC_SUBNET_IDS, "List<AWS::EC2::Subnet::Id>", "Public subnets the ALB spans")
    sg = param(t, ALB_SECURITY_GROUP_ID, "AWS::EC2::SecurityGroup::Id", "Security group of the ALB")
    domain = param(t, API_DOMAIN, "String", "DNS name of the API, inside the hosted zone")

    logs, logs_policy = _access_log_destination(t, cfg)
    alb = t.add_resource(
        LoadBalancer(
            "LoadBalancer",
            Scheme="internet-facing",
            Type="application",
            IpAddressType=cfg.load_balancer.ip_address_type,  # the security group opens the same families
            Subnets=Ref(subnets),
            SecurityGroups=[Ref(sg)],
            LoadBalancerAttributes=_alb_attributes(cfg, logs),
            **({"DependsOn": [logs_policy]} if logs_policy else {}),  # the ALB checks it may write its logs when it is created
            Tags=name_tags(cfg, "alb"),
        )
    )
    tg = t.add_resource(_target_group(cfg, vpc, "TargetGroup"))
    cert = t.add_resource(_certificate(cfg))
    https = _listeners(t, cfg, alb, tg, cert)
    if cfg.service.deployment.progressive(cfg.production):
        _release_rules(t, cfg, vpc, tg, https)
    t.add_resource(
        RecordSetType(
            "ApiAliasRecord",
            HostedZoneId=cfg.dns.hosted_zone_id,
            Name=Ref(domain),
            Type="A",
            AliasTarget=AliasTarget(DNSName=GetAtt(alb, "DNSName"), HostedZoneId=GetAtt(alb, "CanonicalHostedZoneID"), EvaluateTargetHealth=True),
        )
    )
    output(t, LOAD_BALANCER_DNS_NAME, GetAtt(alb, "DNSName"), "DNS name of the ALB")
    output(t, LOAD_BALANCER_FULL_NAME, GetAtt(alb, "LoadBalancerFullName"), "ALB full name (CloudWatch dimension)")
    output(t, LOAD_BALANCER_ARN, Ref(alb), "ARN of the ALB")
    output(t, TARGET_GROUP_ARN, Ref(tg), "Target group the service registers its tasks in")
    output(t, TARGET_GROUP_FULL_NAME, GetAtt(tg, "TargetGroupFullName"), "Target group full name (CloudWatch dimension)")
    output(t, API_URL, Sub(f"https://${{{API_DOMAIN}}}"), "URL of the API")
    return t


def _certificate(cfg: Config) -> Certificate:
    return Certificate(
        "Certificate",
        DomainName=cfg.dns.zone_name,
        SubjectAlternativeNames=[f"*.{cfg.dns.zone_name}"],
        ValidationMethod="DNS",
        # With HostedZoneId, CloudFormation writes the validation record and waits until the
        # certificate is issued, so the HTTPS listener never races an unvalidated certificate.
        DomainValidationOptions=[DomainValidationOption(DomainName=cfg.dns.zone_name, HostedZoneId=cfg.dns.hosted_zone_id)],
        Tags=name_tags(cfg, "certificate"),
        Metadata=scanner_skips(checkov={"CKV2_AWS_71": "The seed's names (the zone apex and *.zone), so ApiDomain, which may be the apex or any one label under it, can change without a new certificate; this stack's listener is its only user"}),
    )


def _alb_attributes(cfg: Config, logs: Bucket) -> list[LoadBalancerAttributes]:
    lb = cfg.load_balancer
    attributes = {
        "deletion_protection.enabled": str(lb.deletion_protection).lower(),  # fix: seed off (ELB.6)
        "routing.http2.enabled": "true",  # seed
        "routing.http.drop_invalid_header_fields.enabled": "true",  # fix: seed off (ELB.4)
        "routing.http.desync_mitigation_mode": "defensive",  # ELB.12, stated so scanners see it
        "idle_timeout.timeout_seconds": str(lb.idle_timeout_seconds),
        "access_logs.s3.enabled": "true",  # fix: the seed had no access logs (ELB.5)
        "access_logs.s3.bucket": Ref(logs) if isinstance(logs, Bucket) else logs,
        "access_logs.s3.prefix": ACCESS_LOG_PREFIX,
    }
    return [LoadBalancerAttributes(Key=k, Value=v) for k, v in attributes.items()]


def _access_log_destination(t: Template, cfg: Config) -> tuple[Bucket | str, BucketPolicy | None]:
    """The stack's own access-log bucket and its policy, or load_balancer.access_log_bucket (an
    existing bucket, whose owner keeps its policy and lifecycle) and none."""
    if cfg.load_balancer.access_log_bucket is not None:
        return cfg.load_balancer.access_log_bucket, None
    return _access_log_bucket(t, cfg)


def _log_bucket_versioning() -> dict:
    """Versioning (Control Tower CT.S3.PR.11): the logs are written once, so it keeps only what
    the lifecycle expires, for one more day."""
    return {"VersioningConfiguration": VersioningConfiguration(Status="Enabled")}


def _access_log_bucket(t: Template, cfg: Config) -> tuple[Bucket, BucketPolicy]:
    bucket = t.add_resource(
        Bucket(
            "AccessLogBucket",
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            LifecycleConfiguration=LifecycleConfiguration(
                Rules=[LifecycleRule(Id="expire-access-logs", Status="Enabled", ExpirationInDays=cfg.load_balancer.access_log_retention_days,
                                     NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=1))]
            ),
            **_log_bucket_versioning(),
            Metadata=scanner_skips(
                checkov={
                    "CKV_AWS_18": "This bucket is itself a log target; logging it would recurse (Security Hub says to suppress S3.9 here)",
                }
            ),
            **private_bucket_properties(),  # SSE-S3: the only encryption ALB log delivery supports
        )
    )
    arn = GetAtt(bucket, "Arn")
    account = ELB_ACCOUNTS.get(cfg.region)
    writer = Principal("AWS", Sub(f"arn:${{AWS::Partition}}:iam::{account}:root")) if account else Principal("Service", "logdelivery.elasticloadbalancing.amazonaws.com")
    deliver = Statement(
        Sid="AllowLoadBalancerLogDelivery",
        Effect=Allow,
        Principal=writer,
        Action=[awacs_s3.PutObject],
        Resource=[Join("", [arn, f"/{ACCESS_LOG_PREFIX}/AWSLogs/", Ref("AWS::AccountId"), "/*"])],
    )
    policy = t.add_resource(
        BucketPolicy("AccessLogBucketPolicy", Bucket=Ref(bucket), PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[tls_only_statement(arn), deliver]))
    )
    return bucket, policy


def _release_rules(t: Template, cfg: Config, vpc, tg: TargetGroup, https: Listener) -> None:
    """The alternate target group and the two listener rules a progressive release moves: the
    production rule (every path, all of its weight on the running revision's group until ECS
    shifts it) and the test rule (the TEST_HEADER, checked first) ("Amazon ECS blue/green
    deployments", load balancer resources)."""
    alternate = t.add_resource(_target_group(cfg, vpc, "AlternateTargetGroup"))

    def forward() -> list[ListenerRuleAction]:
        return [ListenerRuleAction(Type="forward", ForwardConfig=ForwardConfig(TargetGroups=[
            TargetGroupTuple(TargetGroupArn=Ref(tg), Weight=100), TargetGroupTuple(TargetGroupArn=Ref(alternate), Weight=0)]))]

    test = t.add_resource(ListenerRule("TestListenerRule", ListenerArn=Ref(https), Priority=1, Actions=forward(),
                                       Conditions=[Condition(Field="http-header", HttpHeaderConfig=HttpHeaderConfig(HttpHeaderName=TEST_HEADER, Values=["*"]))]))
    production = t.add_resource(ListenerRule("ProductionListenerRule", ListenerArn=Ref(https), Priority=2, Actions=forward(),
                                             Conditions=[Condition(Field="path-pattern", PathPatternConfig=PathPatternConfig(Values=["/*"]))]))
    output(t, ALTERNATE_TARGET_GROUP_ARN, Ref(alternate), "Target group a progressive release starts the new revision behind")
    output(t, PRODUCTION_LISTENER_RULE_ARN, Ref(production), "Listener rule whose weights a progressive release moves")
    output(t, TEST_LISTENER_RULE_ARN, Ref(test), f"Listener rule that sends requests with {TEST_HEADER} to the new revision during a release")
    output(t, HTTPS_LISTENER_ARN, Ref(https), "The HTTPS listener")


def _target_group(cfg: Config, vpc, title: str) -> TargetGroup:
    lb, hc = cfg.load_balancer, cfg.load_balancer.health_check
    attributes = {
        "deregistration_delay.timeout_seconds": str(lb.deregistration_delay_seconds),
        "slow_start.duration_seconds": str(lb.slow_start_seconds),
        "stickiness.enabled": "true",
        "stickiness.type": "app_cookie",
        "stickiness.app_cookie.cookie_name": lb.stickiness_cookie,
        "stickiness.app_cookie.duration_seconds": str(lb.stickiness_seconds),
    }
    return TargetGroup(
        title,
        TargetType="ip",
        Protocol="HTTP",
        Port=cfg.service.container_port,
        VpcId=Ref(vpc),
        HealthCheckEnabled=True,
        HealthCheckProtocol="HTTP",
        HealthCheckPort="traffic-port",
        HealthCheckPath=hc.path,
        HealthCheckIntervalSeconds=hc.interval_seconds,
        HealthCheckTimeoutSeconds=hc.timeout_seconds,
        HealthyThresholdCount=hc.healthy_threshold,
        UnhealthyThresholdCount=hc.unhealthy_threshold,
        Matcher=Matcher(HttpCode=hc.matcher),
        TargetGroupAttributes=[TargetGroupAttribute(Key=k, Value=v) for k, v in attributes.items()],
        Tags=name_tags(cfg, "tg"),
    )


def _listeners(t: Template, cfg: Config, alb: LoadBalancer, tg: TargetGroup, cert: Certificate) -> Listener:
    # fix: the seed forwarded plain HTTP and redirected through a separate rule; the redirect is
    # now the listener's default action, so no request ever reaches the app over HTTP (ELB.1).
    t.add_resource(
        Listener(
            "HttpListener",
            LoadBalancerArn=Ref(alb),
            Port=80,
            Protocol="HTTP",
            DefaultActions=[Action(Type="redirect", RedirectConfig=RedirectConfig(Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))],
        )
    )
    return t.add_resource(
        Listener(
            "HttpsListener",
            LoadBalancerArn=Ref(alb),
            Port=443,
            Protocol="HTTPS",
            SslPolicy=cfg.load_balancer.ssl_policy,
            Certificates=[ListenerCertificate(CertificateArn=Ref(cert))],
            DefaultActions=[Action(Type="forward", TargetGroupArn=Ref(tg))],
        )
    )
