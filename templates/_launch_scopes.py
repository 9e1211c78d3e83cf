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
A new resource has no tags yet, so creation is granted on the new resource's ARN alone. A tag
the role could put on a resource it did not create must never unlock that resource, so:
- EC2 and ELB tags are set only inside the create request (`ec2:CreateAction`,
  `elasticloadbalancing:CreateAction`, with this product's `Name` in `aws:RequestTag` and the tag
  keys limited by `aws:TagKeys`); the role cannot tag an existing resource that is not already ours;
- KMS and ACM take tags given at creation as a separate TagResource authorised on every key or
  certificate ("To add tags while creating a KMS key, the principal must have permission in an
  IAM policy that isn't restricted to particular KMS keys", Controlling access to tags,
  https://docs.aws.amazon.com/kms/latest/developerguide/tag-permissions.html), so a `Name` there
  proves nothing. Their grants on existing resources also require the tags CloudFormation itself
  puts on what a Service Catalog stack creates (`aws:cloudformation:stack-name` `SC-*` and the
  template's `aws:cloudformation:logical-id`), which no principal can set: the `aws:` prefix is
  reserved for AWS ("Tagging best practices", https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html);
- secrets are named: the product's one secret is the service stack's `AppSecret`, which
  CloudFormation names `<logical id>-<random>` ("Create an AWS Secrets Manager secret with
  CloudFormation", https://docs.aws.amazon.com/secretsmanager/latest/userguide/cfn-example_secret.html).
`Resource: "*"` is kept only for the actions listed with `_UNSCOPED` reasons below.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from enrollcfn.config import Config
from enrollcfn.changesets import OWNER_TAG
from enrollcfn.templates.cluster import app_log_group_name

_ARN = "arn:${AWS::Partition}"
SC_STACK = "SC-*"  # Service Catalog's stack names; CloudFormation derives child names from them
SC_LOWER = "sc-*"  # the same, where the service allows only lower case (S3, RDS)
# The product's Secrets Manager secrets, by logical id (the application's keys in the service
# stack, its database user in the database stack), and CloudFormation's names for them:
# `<logical id>-<12 random>`, to which Secrets Manager appends `-<6 random>` in the ARN.
APP_SECRET = "AppSecret"
APP_DATABASE_SECRET = "AppDatabaseSecret"
PRODUCT_SECRET_ARN_NAMES = tuple(f"secret:{logical_id}-*" for logical_id in (APP_SECRET, APP_DATABASE_SECRET))
# Logical ids of the KMS keys and certificates the templates create (monitoring.py, load_balancer.py).
KMS_KEYS = ("AlarmTopicKey",)
CONTROL_TOWER_KMS_KEYS = ("LogKey", "DatabaseKey")  # compliance: control-tower (templates/_control_tower.py)
CERTIFICATES = ("Certificate",)


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


def request_tag_keys(cfg: Config) -> list[str]:
    """The tag keys a create request of the product may carry: the templates' Name, the stack tags
    CloudFormation copies (pipeline.stack_tags) and the `aws:` tags only AWS sets."""
    return ["Name", "project", "environment", OWNER_TAG, "aws:*"]


def _created_with_tags(cfg: Config, create_key: str, creates: tuple[str, ...]) -> dict:
    """A tag request that is part of one of `creates`, naming the resource ours, with only the
    product's tag keys."""
    return {"StringEquals": {create_key: list(creates)}, "StringLike": {"aws:RequestTag/Name": name_tag(cfg)},
            "ForAllValues:StringLike": {"aws:TagKeys": request_tag_keys(cfg)}}


def _tagged(cfg: Config, prefix: str, arns: tuple[str, ...], tag_verbs: tuple[str, ...], create_key: str,
            creates: tuple[str, ...]) -> list[Scope]:
    """Tags only inside a create request, then everything on resources named ours."""
    ours = {"StringLike": {"aws:ResourceTag/Name": name_tag(cfg)}}
    return [Scope(f"{prefix}TagOnCreate", tag_verbs, arns, _created_with_tags(cfg, create_key, creates), share=True),
            Scope(f"{prefix}Product", ("*",), arns, ours)]


def _stack_made(cfg: Config, logical_ids: tuple[str, ...]) -> dict:
    """Named ours AND made by a Service Catalog stack of these templates: the `aws:cloudformation:`
    tags only CloudFormation sets, so a Name the role put on someone else's key or certificate
    unlocks nothing."""
    return {"StringLike": {"aws:ResourceTag/Name": name_tag(cfg), "aws:ResourceTag/aws:cloudformation:stack-name": SC_STACK},
            "StringEquals": {"aws:ResourceTag/aws:cloudformation:logical-id": list(logical_ids)}}


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
    # ec2:CreateAction: "the name of the resource-creating API action" a CreateTags belongs to, set
    # only when tags are given at creation ("Grant permission to tag Amazon EC2 resources during
    # creation", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html).
    return [*creates, rules, *_tagged(cfg, "Ec2", (regional("ec2", "*"),), ("CreateTags",), "ec2:CreateAction", tuple(made))]


def _elb(cfg: Config) -> list[Scope]:
    lbs = (regional("elasticloadbalancing", "loadbalancer/app/*"), regional("elasticloadbalancing", "targetgroup/*"))
    return [
        Scope("ElbCreateLoadBalancer", ("CreateLoadBalancer",), lbs[:1]),
        Scope("ElbCreateTargetGroup", ("CreateTargetGroup",), lbs[1:]),
        # Listeners carry no tags in CloudFormation: any listener of the account's ALBs (a new
        # listener also needs the load balancer, which must be this product's).
        Scope("ElbListeners", ("*Listener", "ModifyListenerAttributes", "AddTags", "RemoveTags"),
              (regional("elasticloadbalancing", "listener/app/*"), regional("elasticloadbalancing", "listener-rule/app/*")), share=True),
        # elasticloadbalancing:CreateAction: AddTags as part of CreateLoadBalancer/CreateTargetGroup
        # (Elastic Load Balancing, "Condition keys", Service Authorization Reference).
        *_tagged(cfg, "Elb", lbs, ("AddTags",), "elasticloadbalancing:CreateAction", ("CreateLoadBalancer", "CreateTargetGroup")),
    ]  # fmt: skip


def _acm(cfg: Config) -> list[Scope]:
    certs = (regional("acm", "certificate/*"),)
    fresh = {"StringLike": {"aws:RequestTag/Name": name_tag(cfg)}, "ForAllValues:StringLike": {"aws:TagKeys": request_tag_keys(cfg)}}
    return [Scope("AcmRead", ("DescribeCertificate", "ListTagsForCertificate"), certs),
            # RequestCertificate's Tags: only this product's Name and tag keys; a Name put on a
            # certificate unlocks nothing by itself (AcmProduct also needs CloudFormation's tags).
            Scope("AcmTagOnCreate", ("AddTagsToCertificate",), certs, fresh, share=True),
            Scope("AcmProduct", ("*",), certs, _stack_made(cfg, CERTIFICATES))]


def _kms(cfg: Config) -> list[Scope]:
    keys = (regional("kms", "key/*"),)
    # CreateKey's Tags are authorised as kms:TagResource on every key of the account and Region, so
    # the tag-on-create scope names "*" and key/*, limited to this product's Name and tag keys;
    # that Name unlocks nothing by itself: KmsProduct also needs the tags only CloudFormation sets.
    fresh = {"StringLike": {"aws:RequestTag/Name": name_tag(cfg)}, "ForAllValues:StringLike": {"aws:TagKeys": request_tag_keys(cfg)}}
    return [Scope("KmsRead", ("DescribeKey", "GetKey*", "ListResourceTags"), keys),
            Scope("KmsTagOnCreate", ("TagResource",), (*keys, "*"), fresh, share=True),
            Scope("KmsProduct", ("*",), keys, _stack_made(cfg, KMS_KEYS + (CONTROL_TOWER_KMS_KEYS if cfg.compliance == "control-tower" else ())))]


def _secrets(cfg: Config) -> list[Scope]:
    secrets = (regional("secretsmanager", "secret:*"),)
    return [
        Scope("SecretsCreate", ("CreateSecret", "DescribeSecret"), secrets, share=True),
        # RDS creates and tags the instance's managed master secret (`rds!db-...`) with the caller's
        # rights; any other use of those secrets is denied in catalog.py.
        Scope("RdsManagedSecret", ("TagResource",), (regional("secretsmanager", "secret:rds!*"),), share=True),
        # The product's own secret, by the name CloudFormation gives it; no tag unlocks a secret.
        Scope("SecretsProduct", ("*",), tuple(regional("secretsmanager", name) for name in PRODUCT_SECRET_ARN_NAMES)),
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
