"""Root stack: one nested `AWS::CloudFormation::Stack` per registry entry, wired by name.

A child Parameter receives the root Parameter or the earlier child's Output of exactly the same
name (`VpcId` -> `VpcId`). A missing or twice-produced name is a compile error naming both
stacks. In build/ the TemplateURLs are local file names so cfn-lint checks the wiring (E3043);
packaging rewrites them to S3 URLs at deploy time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.cloudformation import Stack

from enrollcfn.config import Config
from enrollcfn.errors import CompileError
from enrollcfn.templates import NESTED, ROOT
from enrollcfn.templates._helpers import output, param
from enrollcfn.templates.bootstrap import REPOSITORY_URI
from enrollcfn.templates.cluster import CLUSTER_NAME
from enrollcfn.templates.database import DATABASE_ENDPOINT_ADDRESS, DATABASE_SECRET_ARN
from enrollcfn.templates.load_balancer import API_DOMAIN, API_URL, LOAD_BALANCER_DNS_NAME
from enrollcfn.templates.monitoring import ALARM_TOPIC_ARN, MONTHLY_BUDGET
from enrollcfn.templates.network import VPC_ID
from enrollcfn.templates.redeploy import ROOT_STACK_ID
from enrollcfn.templates.service import APP_SECRET_ARN, IMAGE_DIGEST, IMAGE_TAG, SERVICE_NAME

# Outputs of children that the root re-surfaces for people and for Service Catalog.
ROOT_OUTPUTS: dict[str, str] = {
    API_URL: "URL of the API",
    LOAD_BALANCER_DNS_NAME: "DNS name of the load balancer",
    CLUSTER_NAME: "ECS cluster name",
    SERVICE_NAME: "ECS service name",
    DATABASE_ENDPOINT_ADDRESS: "MySQL host name",
    DATABASE_SECRET_ARN: "Secret with the database master username and password (managed by RDS)",
    APP_SECRET_ARN: "Secret with the application keys (set MAIL_PASSWORD and the others here)",
    VPC_ID: "The VPC",
    ALARM_TOPIC_ARN: "SNS topic the alarms and the budget notify (subscribe here)",
}


def root_parameter_specs(cfg: Config, defaults: Mapping[str, object]) -> dict[str, dict]:
    """Deploy-time knobs a person deploying or provisioning chooses, as Parameter properties.

    `defaults` holds what the compiler computed (the monthly budget from the cost estimate).
    Each becomes a root Parameter only when some child consumes it, so the root never carries an
    unused Parameter.
    """
    zone = re.escape(cfg.dns.zone_name)
    return {
        IMAGE_TAG: dict(
            Type="String",
            Default=cfg.service.image_tag,
            AllowedPattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
            ConstraintDescription="an ECR image tag: 1-128 letters, digits, '_', '.' and '-'",
            Description="Tag of the application image in the ECR repository",
        ),
        IMAGE_DIGEST: dict(
            Type="String",
            Default="",
            # An ECR image digest; the deploy resolves it from the tag so tasks run exact bytes.
            AllowedPattern=r"^(sha256:[a-f0-9]{64})?$",
            ConstraintDescription="empty, or an image digest: sha256: and 64 lower-case hex digits",
            Description="Digest of the application image to run (sha256:...); empty runs ImageTag",
        ),
        API_DOMAIN: dict(
            Type="String",
            Default=cfg.dns.api_domain,
            # The certificate covers the zone apex and one level below it (*.zone).
            AllowedPattern=rf"^([a-z0-9]([a-z0-9-]{{0,61}}[a-z0-9])?\.)?{zone}$",
            ConstraintDescription=f"{cfg.dns.zone_name} or one label under it, lower case",
            Description=f"DNS name of the API in the hosted zone {cfg.dns.zone_name}",
        ),
        MONTHLY_BUDGET: dict(
            Type="Number",
            Default=defaults[MONTHLY_BUDGET],
            MinValue=1,
            Description="Monthly cost budget in USD (default: the cost estimate, rounded up, unpriced lines at the dearest bundled price); alerts at 80 % and 100 %",
        ),
    }


def build(cfg: Config, children: Mapping[str, Template], defaults: Mapping[str, object]) -> Template:
    """The root template, given the already-built child templates keyed by stack name and the
    parameter defaults the compiler computed."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: Laravel API on ECS Fargate (root of the nested stacks)")
    t.set_version()
    specs = root_parameter_specs(cfg, defaults)
    wanted = {p for child in children.values() for p in child.parameters}
    available: dict[str, tuple[str, object]] = {}
    for pname in sorted(wanted & specs.keys()):
        props = dict(specs[pname])
        available[pname] = (ROOT, Ref(param(t, pname, props.pop("Type"), props.pop("Description"), **props)))

    available[ROOT_STACK_ID] = (ROOT, Ref("AWS::StackId"))  # the redeploy function updates the root
    for spec in NESTED:
        child = children[spec.name]
        params = {}
        for pname, p in sorted(child.parameters.items()):
            if pname in available:
                params[pname] = available[pname][1]
            elif "Default" not in p.properties:
                raise CompileError(spec.name, _missing(pname, spec.name, children))
        extra = {"Parameters": params} if params else {}
        stack = t.add_resource(Stack(spec.logical_id, TemplateURL=spec.filename, **extra))
        for oname in sorted(child.outputs):
            if oname in available:
                raise CompileError(spec.name, f"output {oname} is also produced by {available[oname][0]}; output names must be unique")
            available[oname] = (spec.name, GetAtt(stack, f"Outputs.{oname}"))

    for oname, description in ROOT_OUTPUTS.items():
        if oname not in available:
            raise CompileError(ROOT, f"root output {oname} is not produced by any nested stack")
        output(t, oname, available[oname][1], description)
    output(
        t,
        REPOSITORY_URI,
        Sub(f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{cfg.registry.repository_name}"),
        "Push the application image here (the repository is created by the bootstrap stack)",
    )
    return t


def _missing(pname: str, consumer: str, children: Mapping[str, Template]) -> str:
    """Explain a child Parameter nothing before it produces, naming the stack that does if any."""
    names = [spec.name for spec in NESTED]
    later = [n for n in names[names.index(consumer) :] if pname in children[n].outputs]
    if later:
        return f"parameter {pname} is produced by {later[0]}, which comes after {consumer}; reorder NESTED"
    return f"parameter {pname} is not an output of any earlier stack nor a root parameter"
