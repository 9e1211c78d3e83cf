"""Which resources each of the launch role's actions may touch: this product's, and no other's.

A product resource is recognised by one of three marks, strongest first:
- a name from the config: the ECS cluster, service and task family, the app log group, the IAM
  role path `/<project>/<environment>/` and the permissions boundary;
- the `Name` tag `<project>-<environment>-*` the templates put on every EC2, load balancer, ACM,
  KMS and Secrets Manager resource (services whose resources are known only by generated ids);
- the name CloudFormation generates from the stack name, which under Service Catalog is always
  `SC-<account>-pp-<id>` (Lambda, SQS, SNS, EventBridge, alarms, log groups, S3 and RDS in lower
  case). That prefix is shared by every Service Catalog product of the account: the one place
  where another product's resources are not told apart.
A new resource has no tags yet, so creation is granted on the new resource's ARN alone, and
tagging a resource that has no `Name` yet is granted only when the request sets this product's.
`Resource: "*"` is kept only for the actions listed with `_UNSCOPED` reasons below.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from enrollcfn.config import Config
from templates.cluster import app_log_group_name

_ARN = "arn:${AWS::Partition}"
SC_STACK = "SC-*"  # Service Catalog's stack names; CloudFormation derives child names from them
SC_LOWER = "sc-*"  # the same, where the service allows only lower case (S3, RDS)


def regional(service: str, rest: str) -> str:
    """`arn:<partition>:<service>:<region>:<account>:<rest>` as a Sub string."""
    return f"{_ARN}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{rest}"


@dataclass(frozen=True)
class Scope:
    """One statement: the verbs (fnmatch patterns) it takes, on which resources, under which
    condition. An action goes to the first scope that matches, and to later ones too when the
    matching scope has `share` (an action that authorises on a new and an existing resource)."""

    sid: str
    verbs: tuple[str, ...]
    resources: tuple[str, ...]
    condition: dict | None = None
    share: bool = False

    def takes(self, verb: str) -> bool:
        """True when one of the scope's verb patterns matches `verb`."""
        return any(fnmatchcase(verb, p) for p in self.verbs)


def name_tag(cfg: Config) -> str:
    """The `Name` tag value pattern of this product's resources (templates/_helpers.name)."""
    return f"{cfg.project}-{cfg.environment}-*"


def _tagged(cfg: Config, prefix: str, arns: tuple[str, ...], tag_verbs: tuple[str, ...]) -> list[Scope]:
    """Tag-on-create for a resource without a Name yet, then everything on resources named ours."""
    ours = {"StringLike": {"aws:ResourceTag/Name": name_tag(cfg)}}
    fresh = {"Null": {"aws:ResourceTag/Name": "true"}, "StringLike": {"aws:RequestTag/Name": name_tag(cfg)}}
    return [Scope(f"{prefix}TagNew", tag_verbs, arns, fresh, share=True), Scope(f"{prefix}Product", ("*",), arns, ours)]


# Resource "*", and why. Most have no resource type in AWS's Service Authorization Reference, so IAM
# accepts them only on "*": the EC2, ELB, Application Auto Scaling and Auto Scaling describes,
# ecs Register/Deregister/DescribeTaskDefinition (the one write here on existing resources: a
# task definition revision of any family), cloudwatch:GetMetricData, GetRandomPassword, CreateKey,
# acm:RequestCertificate, route53:ListHostedZones, iam:ListRoles and ValidateTemplate. The rest
# are reads the handlers make without naming a resource of ours (RDS engine versions, events
# and clusters; DescribeAlarms, DescribeLogGroups and the log policy lists; GetTemplateSummary
# before the stack exists).
_UNSCOPED = {
    "ec2": ("Describe*",),
    "elasticloadbalancing": ("Describe*",),
    "application-autoscaling": ("Describe*",),
    "autoscaling": ("DescribeTags",),
    "rds": ("Describe*",),
    "cloudwatch": ("GetMetricData", "DescribeAlarms"),
    "logs": ("DescribeLogGroups", "DescribeResourcePolicies", "DescribeIndexPolicies"),
    "cloudformation": ("GetTemplateSummary", "ValidateTemplate"),
    "ecs": ("RegisterTaskDefinition", "DeregisterTaskDefinition", "DescribeTaskDefinition"),
    "secretsmanager": ("GetRandomPassword",),
    "acm": ("RequestCertificate",),
    "kms": ("CreateKey",),
    "route53": ("ListHostedZones",),
    "iam": ("ListRoles",),
}


def unscoped(action: str) -> bool:
    """True when `action` is one IAM accepts only on Resource "*" (see _UNSCOPED)."""
    service, verb = action.split(":", 1)
    return any(fnmatchcase(verb, p) for p in _UNSCOPED.get(service, ()))


def _ec2(cfg: Config) -> list[Scope]:
    # Each create is granted on the ARN of the resource it makes; the VPC, subnet or route table
    # it is made in must be this product's (shared into the tagged scope).
    made = {"CreateVpc": "vpc", "CreateSubnet": "subnet", "CreateSecurityGroup": "security-group", "CreateRouteTable": "route-table",
            "CreateInternetGateway": "internet-gateway", "CreateNatGateway": "natgateway", "AllocateAddress": "elastic-ip",
            "CreateVpcEndpoint": "vpc-endpoint", "CreateFlowLogs": "vpc-flow-log"}  # fmt: skip
    creates = [Scope(f"Ec2{verb}", (verb,), (regional("ec2", f"{kind}/*"),), share=True) for verb, kind in made.items()]
    # A rule is a resource of its own, never tagged; its group must be this product's.
    rules = Scope("Ec2SecurityGroupRules", ("AuthorizeSecurityGroup*", "RevokeSecurityGroup*", "UpdateSecurityGroupRuleDescriptions*"),
                  (regional("ec2", "security-group-rule/*"),), share=True)  # fmt: skip
    return [*creates, rules, *_tagged(cfg, "Ec2", (regional("ec2", "*"),), ("CreateTags",))]


def _elb(cfg: Config) -> list[Scope]:
    lbs = (regional("elasticloadbalancing", "loadbalancer/app/*"), regional("elasticloadbalancing", "targetgroup/*"))
    return [
        Scope("ElbCreateLoadBalancer", ("CreateLoadBalancer",), lbs[:1]),
        Scope("ElbCreateTargetGroup", ("CreateTargetGroup",), lbs[1:]),
        # Listeners carry no tags in CloudFormation: any listener of the account's ALBs (a new
        # listener also needs the load balancer, which must be this product's).
        Scope("ElbListeners", ("*Listener", "ModifyListenerAttributes", "AddTags", "RemoveTags"),
              (regional("elasticloadbalancing", "listener/app/*"), regional("elasticloadbalancing", "listener-rule/app/*")), share=True),
        *_tagged(cfg, "Elb", lbs, ("AddTags",)),
    ]  # fmt: skip


def _acm(cfg: Config) -> list[Scope]:
    certs = (regional("acm", "certificate/*"),)
    return [Scope("AcmRead", ("DescribeCertificate", "ListTagsForCertificate"), certs), *_tagged(cfg, "Acm", certs, ("AddTagsToCertificate",))]


def _kms(cfg: Config) -> list[Scope]:
    keys = (regional("kms", "key/*"),)
    # CreateKey's Tags are authorised as kms:TagResource before the key has an ARN, so the
    # tag-on-create scope also names "*" (it still needs this product's Name in the request).
    fresh, product = _tagged(cfg, "Kms", (*keys, "*"), ("TagResource",))
    return [Scope("KmsRead", ("DescribeKey", "GetKey*", "ListResourceTags"), keys), fresh, Scope(product.sid, product.verbs, keys, product.condition)]


def _secrets(cfg: Config) -> list[Scope]:
    secrets = (regional("secretsmanager", "secret:*"),)
    return [
        Scope("SecretsCreate", ("CreateSecret", "DescribeSecret"), secrets, share=True),
        # RDS creates and tags the instance's managed master secret (`rds!db-...`) with the caller's
        # rights; any other use of those secrets is denied in catalog.py.
        Scope("RdsManagedSecret", ("TagResource",), (regional("secretsmanager", "secret:rds!*"),), share=True),
        *_tagged(cfg, "Secrets", secrets, ("TagResource",)),
    ]


def _named(cfg: Config) -> dict[str, tuple[str, ...]]:
    """Services whose product resources are known by name: the ARN patterns of each."""
    cluster, service, family = cfg.cluster.name, cfg.service.name, cfg.service.name  # service.py: Family
    log_group = app_log_group_name(cfg)
    return {
        "cloudformation": (regional("cloudformation", f"stack/{SC_STACK}"),),
        "ecs": (regional("ecs", f"cluster/{cluster}"), regional("ecs", f"service/{cluster}/{service}"),
                regional("ecs", f"task-definition/{family}:*"), regional("ecs", f"service-deployment/{cluster}/{service}/*")),
        "logs": (regional("logs", f"log-group:{SC_STACK}"), regional("logs", f"log-group:{log_group}"),
                 regional("logs", f"log-group:{log_group}:*")),
        "lambda": (regional("lambda", f"function:{SC_STACK}"),),
        "events": (regional("events", f"rule/{SC_STACK}"),),
        "sqs": (regional("sqs", SC_STACK),),
        "sns": (regional("sns", SC_STACK),),
        # Target-tracking alarms are named by Application Auto Scaling after the scaled resource.
        "cloudwatch": (regional("cloudwatch", f"alarm:{SC_STACK}"), regional("cloudwatch", f"alarm:TargetTracking-service/{cluster}/{service}-*")),
        "s3": (f"{_ARN}:s3:::{SC_LOWER}",),
        "rds": (regional("rds", f"db:{SC_LOWER}"), regional("rds", f"subgrp:{SC_LOWER}"), regional("rds", f"pg:{SC_LOWER}"),
                regional("rds", f"snapshot:{SC_LOWER}"), regional("rds", "og:default:*")),
        "route53": (f"{_ARN}:route53:::hostedzone/{cfg.dns.hosted_zone_id}", f"{_ARN}:route53:::change/*"),
        # The budget's name is generated by CloudFormation in no documented form: any budget of
        # the account (a budget only reads costs and notifies).
        "budgets": (f"{_ARN}:budgets::${{AWS::AccountId}}:budget/*",),
        # Scalable targets have generated ids; registering one also needs ecs:UpdateService on
        # the scaled service, which is name-scoped above.
        "application-autoscaling": (regional("application-autoscaling", "scalable-target/*"),),
    }  # fmt: skip


def service_scopes(cfg: Config, service: str) -> list[Scope] | None:
    """The ordered scopes of one service (IAM is built in catalog.py), or None if unknown."""
    unscoped = [Scope(f"{_sid(service)}NoResourceLevel", _UNSCOPED[service], ("*",))] if service in _UNSCOPED else []
    special = {"ec2": _ec2, "elasticloadbalancing": _elb, "acm": _acm, "kms": _kms, "secretsmanager": _secrets}
    if service in special:
        return unscoped + special[service](cfg)
    named = _named(cfg)
    if service in named:
        return unscoped + [Scope(f"{_sid(service)}Product", ("*",), named[service])]
    return unscoped or None


def _sid(service: str) -> str:
    return "".join(p.capitalize() for p in service.split("-"))
