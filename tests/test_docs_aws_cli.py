"""Every `aws ...` command the docs give (README.md and docs/*.md code blocks) runs through the real
AWS CLI (awscli v1, its own parser and its own vendored botocore) against the local AWS, after a
deploy of the default config there; and every CloudFormation deploy command the docs give passes
the capabilities real CloudFormation requires, which neither moto nor the local AWS enforces.

Independent facts only:
- which commands exist and which flags they take: the AWS CLI itself (a typo'd flag exits 2 or 252
  before any request), and the installed botocore's service model (`test_doc_commands_match_*`);
- which capabilities a template needs: CloudFormation's own rule, as the CreateStack API reference
  states it (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html,
  "If you have IAM resources with custom names, you must specify CAPABILITY_NAMED_IAM", and
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/control-access-with-iam.html#using-iam-capabilities).
  The list of IAM resource types that need a capability is read from that same text as botocore
  ships it (CreateStack's `Capabilities` member documentation); which property is a resource's
  custom name is read from CloudFormation's registry schema as cfn-lint bundles it (the
  create-only `<Type>Name` property, e.g. RoleName, ManagedPolicyName).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore.session
from botocore.exceptions import ClientError
import pytest
from botocore import xform_name
from cfnlint.decode import cfn_yaml

from enrollcfn.cli import main
from enrollcfn.config import Config
from enrollcfn.changesets import capabilities as code_capabilities
from enrollcfn.local import server as localaws
from tests.conftest import resource_schema

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
STACK = "se-prod"  # the stack name the docs use

# Commands the local AWS (moto 5.2.5) cannot answer, by a pattern of the command: they still run
# through the AWS CLI (with --debug), which parses them, and botocore validates and serializes them
# against the service model; the test asserts the request for the operation was sent.
NOT_SERVED = [
    (r"^aws cloudformation activate-organizations-access", "moto's CloudFormation has no ActivateOrganizationsAccess"),
    (r"^aws servicecatalog enable-aws-organizations-access", "moto's Service Catalog has no EnableAWSOrganizationsAccess"),
    (r"^aws servicecatalog associate-principal-with-portfolio", "moto's Service Catalog has no AssociatePrincipalWithPortfolio"),
    (r"^aws ce (list-cost-allocation-tags|update-cost-allocation-tags-status)", "moto's Cost Explorer has no cost allocation tags"),
    (r"^aws organizations register-delegated-administrator .*member\.org\.stacksets\.cloudformation\.amazonaws\.com",
     "moto's Organizations does not know StackSets' service principal (AWS's own: Register a delegated administrator, "
     "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-delegated-admin.html)"),
]


def not_served(text: str) -> str | None:
    return next((reason for pattern, reason in NOT_SERVED if re.search(pattern, text)), None)


# What follows a pipe is not the AWS CLI and cannot run here.
NOT_AWS = {"docker": "no Docker daemon against the local AWS; the registry's password comes from the aws half, which runs"}
# AWS CLI customizations: commands that are not one API operation (no service-model check of flags).
CUSTOMIZATIONS = {("cloudformation", "deploy"), ("ecr", "get-login-password"), ("s3", "rb"), ("s3", "rm"), ("s3", "cp"),
                  ("s3", "ls"), ("ecs", "deploy")}
# The AWS CLI's global options and pagination options (not members of an operation's input).
GLOBAL_FLAGS = {"--query", "--output", "--region", "--profile", "--endpoint-url", "--no-paginate", "--debug",
                "--no-cli-pager", "--max-items", "--starting-token", "--page-size", "--cli-input-json", "--color"}
CLI_SERVICE = {"s3api": "s3"}  # the AWS CLI's name of a service -> botocore's


@dataclass(frozen=True)
class DocCommand:
    where: str   # file:line
    text: str    # as written, continuations joined
    scope: str   # the nearest `# N. ...` comment above it in its block ('' when none)

    def __str__(self):
        return f"{self.where}: {self.text}"


def doc_commands() -> list[DocCommand]:
    """Every line of a fenced code block that starts with `aws ` (or `$ aws `), with its `\\`
    continuation lines joined."""
    found = []
    for path in DOCS:
        lines, fenced, scope, i = path.read_text().splitlines(), False, "", 0
        while i < len(lines):
            line = lines[i].strip()
            i += 1
            if line.startswith("```"):
                fenced, scope = not fenced, ""
                continue
            if not fenced:
                continue
            if re.match(r"#\s*\d+\.", line):
                scope = line
            text = line.removeprefix("$ ")
            if not text.startswith("aws "):
                continue
            start = i
            while text.endswith("\\") and i < len(lines):
                text = text[:-1].rstrip() + " " + lines[i].strip()
                i += 1
            found.append(DocCommand(f"{path.relative_to(ROOT)}:{start}", text, scope))
    return found


COMMANDS = doc_commands()


def argv_of(text: str) -> list[list[str]]:
    """The pipeline's commands as argument lists (shell comments dropped)."""
    tokens = shlex.split(text, comments=True)
    parts, current = [], []
    for token in tokens:
        if token == "|":
            parts.append(current)
            current = []
        else:
            current.append(token)
    return [*parts, current]


# --- placeholders -----------------------------------------------------------------------------

# A placeholder left in a command after substitution: <...>, $VAR, an ellipsis, an UPPER_CASE word,
# the docs' example account id.
LEFTOVER = re.compile(r"<[^>]*>|\$[A-Za-z_{(]|\.\.\.|\b(?!CAPABILITY_)[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\b111122223333\b|\bmy\.yaml\b")


def test_the_docs_give_aws_commands_and_the_extraction_finds_them():
    """The extraction is not vacuous: the commands this file was written against are found."""
    texts = [c.text for c in COMMANDS]
    assert len(COMMANDS) >= 12, texts
    assert any(t.startswith("aws ecr get-login-password --region") for t in texts)
    assert any(t.startswith("aws cloudformation deploy") and "--parameter-overrides" in t for t in texts)  # a joined continuation
    assert any("| docker login" in t for t in texts)


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    """The default config deployed as `se-prod` on a fresh local AWS (the management account), an
    organization with two member accounts (the catalog's hub and a consumer) and credentials for
    each; the values the docs' placeholders stand for."""
    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        cfg = Config()
        zone = boto3.client("route53").create_hosted_zone(Name=cfg.dns.zone_name, CallerReference="docs")["HostedZone"]["Id"]
        config = tmp_path_factory.mktemp("cfg") / "config.yaml"
        config.write_text(f"dns:\n  hosted_zone_id: {zone.rsplit('/', 1)[-1]}\n")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(["deploy", "--stack", STACK, "--config", str(config), "--yes"])  # creates the repository, stops at the preflight
            localaws.push_image(boto3.client("ecr"), cfg.registry.repository_name, cfg.service.image_tag, "docs")
            assert main(["deploy", "--stack", STACK, "--config", str(config), "--yes"]) == 0

        org = boto3.client("organizations")
        org.create_organization(FeatureSet="ALL")
        accounts = {}
        for name in ("hub", "consumer"):
            status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
            accounts[name] = status["AccountId"]
        env = {**os.environ, **localaws.environment(endpoint),
               "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": "", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        envs = {"management": env}
        for name, account in accounts.items():
            # moto answers a request in the account whose IAM issued its access key
            iam = boto3.client("iam")
            iam.meta.events.register("before-sign.iam.*", lambda request, account=account, **_: request.headers.__setitem__("x-moto-account-id", account))
            iam.create_user(UserName="docs")
            key = iam.create_access_key(UserName="docs")["AccessKey"]
            envs[name] = {**env, "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
            envs[name].pop("AWS_SESSION_TOKEN")
        uri = boto3.client("ecr").describe_repositories(repositoryNames=[cfg.registry.repository_name])["repositories"][0]["repositoryUri"]
        yield {"cfg": cfg, "env": envs, "accounts": accounts, "registry": uri.split("/", 1)[0]}


def account_of(command: DocCommand) -> str:
    """Which account the docs run a command in, from the numbered comment above it."""
    scope = command.scope.lower()
    if "in the hub" in scope:
        return "hub"
    if "consumer account" in scope or re.search(r"\bin 111122223333\b", scope):
        return "consumer"
    return "management"


def substitute(text: str, aws: dict, account: str) -> str:
    def hub_bucket() -> str:
        cfn = boto3.client("cloudformation")
        cfn.meta.events.register("before-sign.cloudformation.*",
                                 lambda request, **_: request.headers.__setitem__("x-moto-account-id", aws["accounts"]["hub"]))
        [stack] = cfn.describe_stacks(StackName=f"{STACK}-bootstrap")["Stacks"]
        return next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "ArtifactBucketName")

    values = {
        "<registry>": lambda: aws["registry"],
        "HUB_ACCOUNT_ID": lambda: aws["accounts"]["hub"],
        "HUB_ARTIFACT_BUCKET": hub_bucket,
        "port-...": lambda: "port-abcdefghijklm",
        "111122223333": lambda: aws["accounts"]["consumer"],
    }
    for placeholder, value in values.items():
        if placeholder in text:
            text = text.replace(placeholder, value())
    return text


def run_cli(argv: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "awscli", *argv], env=env, capture_output=True, text=True, timeout=300)


def test_every_doc_aws_command_runs_against_the_local_aws(aws):
    """In the docs' order (the catalog's steps build on each other), each in the account its step
    names. A served command must exit 0; one moto does not serve must get as far as the request."""
    failures, ran, skipped = [], 0, 0
    for command in COMMANDS:
        account = account_of(command)
        try:
            text = substitute(command.text, aws, account)
        except ClientError as exc:  # a value an earlier command should have made
            failures.append(f"{command} [{account}]: a placeholder's value cannot be read: {exc}")
            break
        argvs = argv_of(text)
        for argv in argvs:
            left = LEFTOVER.findall(" ".join(argv))
            if left:
                failures.append(f"{command}: placeholder(s) {left} have no value here; add them to substitute()")
        head, *rest = argvs
        for argv in rest:
            assert argv[0] in NOT_AWS, f"{command}: `{argv[0]}` after a pipe is neither aws nor explained in NOT_AWS"
        assert head[0] == "aws"
        started = time.monotonic()
        reason = not_served(text)
        result = run_cli(head[1:] + (["--debug"] if reason else []), aws["env"][account])
        if reason:
            model = botocore.session.get_session().get_service_model(CLI_SERVICE.get(head[1], head[1]))
            operation = {xform_name(o, "-"): o for o in model.operation_names}[head[2]]
            if f"Making request for OperationModel(name={operation})" not in result.stderr:
                failures.append(f"{command}: never sent (exit {result.returncode}): {result.stderr.strip()[-400:]}")
            skipped += 1
        elif result.returncode != 0:
            failures.append(f"{command} [{account}]: exit {result.returncode}: {result.stderr.strip()[-600:]}")
        else:
            ran += 1
        assert time.monotonic() - started < 120, f"{command}: slow"
    assert not failures, "\n".join(failures)
    assert ran >= 6 and skipped == sum(1 for c in COMMANDS if not_served(c.text)), (ran, skipped)
    for pattern, reason in NOT_SERVED:  # each exception still names a command of the docs
        assert any(re.search(pattern, c.text) for c in COMMANDS), f"NOT_SERVED {pattern!r} matches no doc command: drop it"


def test_a_wrong_flag_fails_the_cli_before_any_request(aws):
    """The runner can fail for the right reason: the AWS CLI refuses a flag the operation lacks."""
    result = run_cli(["route53", "list-hosted-zones-by-name", "--dns", "x", "--no-such-flag", "1"], aws["env"]["management"])
    assert result.returncode != 0 and "Unknown options: --no-such-flag" in result.stderr


# --- the service model ------------------------------------------------------------------------

def model_problems(argv: list[str]) -> list[str]:
    """What botocore's service model says is wrong with `aws SERVICE OPERATION --flags...`."""
    service, op = argv[1], argv[2]
    if (service, op) in CUSTOMIZATIONS:
        return []
    model = botocore.session.get_session().get_service_model(CLI_SERVICE.get(service, service))
    operations = {xform_name(o, "-"): o for o in model.operation_names}
    if op not in operations:
        return [f"{service} has no operation {op}"]
    shape = model.operation_model(operations[op]).input_shape
    members = {xform_name(m, "-"): m for m in (shape.members if shape else {})}
    given, problems = set(), []
    for token in argv[3:]:
        if not token.startswith("--"):
            continue
        flag = token[2:]
        if "--" + flag in GLOBAL_FLAGS:
            continue
        name = flag[3:] if flag.startswith("no-") and flag[3:] in members else flag
        if name not in members:
            problems.append(f"--{flag} is not a member of {operations[op]}")
        else:
            given.add(members[name])
    missing = set(shape.required_members if shape else ()) - given
    problems += [f"required --{xform_name(m, '-')} missing" for m in sorted(missing)]
    return problems


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_doc_commands_match_the_service_model(command):
    argv = argv_of(command.text)[0]
    assert model_problems(argv) == []


def test_the_model_check_can_fail():
    assert model_problems(["aws", "ecs", "update-service", "--cluster", "c", "--servce", "s"]) == [
        "--servce is not a member of UpdateService", "required --service missing"]
    assert model_problems(["aws", "route53", "list-hosted-zone-by-name"]) == ["route53 has no operation list-hosted-zone-by-name"]


# --- capabilities -----------------------------------------------------------------------------

def capability_types() -> set[str]:
    """The IAM resource types CloudFormation asks a capability for, from CreateStack's reference
    (botocore ships it as the documentation of the Capabilities member)."""
    doc = botocore.session.get_session().get_service_model("cloudformation").operation_model("CreateStack") \
        .input_shape.members["Capabilities"].documentation
    iam_part = doc.split("CAPABILITY_AUTO_EXPAND")[0]
    types = set(re.findall(r"AWS::IAM::[A-Za-z]+", iam_part))
    assert "If you have IAM resources with custom names, you <i>must</i> specify <code>CAPABILITY_NAMED_IAM</code>" in doc
    assert {"AWS::IAM::Role", "AWS::IAM::ManagedPolicy"} <= types
    return types


def custom_name(type_name: str, properties: dict) -> str | None:
    """The resource's own name property, when set: the create-only `<Type>Name` of its registry
    schema (RoleName, ManagedPolicyName, GroupName, UserName, InstanceProfileName)."""
    short = type_name.rsplit("::", 1)[1]
    create_only = {p.rsplit("/", 1)[1] for p in resource_schema(type_name).get("createOnlyProperties", [])}
    name = f"{short}Name"
    return name if name in create_only and name in properties else None


def required_capabilities(path: Path) -> set[str]:
    """What real CloudFormation requires to create the stack of template `path`, nested stacks
    (their TemplateURL names a file beside it) included."""
    doc = cfn_yaml.load(str(path))
    types, needed = capability_types(), set()
    if doc.get("Transform"):
        needed.add("CAPABILITY_AUTO_EXPAND")
    for resource in doc.get("Resources", {}).values():
        type_, props = resource.get("Type", ""), resource.get("Properties", {}) or {}
        if type_ in types:
            needed.add("CAPABILITY_NAMED_IAM" if custom_name(type_, props) else "CAPABILITY_IAM")
        if type_ == "AWS::CloudFormation::Stack":
            child = re.search(r"([A-Za-z0-9_-]+\.(?:yaml|json))", str(props.get("TemplateURL")))
            assert child and (path.parent / child.group(1)).exists(), f"{path.name}: nested template {props.get('TemplateURL')!r} not in build/"
            needed |= required_capabilities(path.parent / child.group(1))
        if type_.startswith("AWS::Serverless::") or "Fn::Transform" in str(resource):
            needed.add("CAPABILITY_AUTO_EXPAND")
    if "CAPABILITY_NAMED_IAM" in needed:
        needed.discard("CAPABILITY_IAM")  # NAMED_IAM covers the unnamed ones too
    return needed


def satisfies(given: set[str], needed: set[str]) -> bool:
    covered = set(given) | ({"CAPABILITY_IAM"} if "CAPABILITY_NAMED_IAM" in given else set())
    return needed <= covered


CFN_DEPLOYS = [c for c in COMMANDS if argv_of(c.text)[0][1:3] in (["cloudformation", "deploy"], ["cloudformation", "create-stack"],
                                                                   ["cloudformation", "update-stack"], ["cloudformation", "create-change-set"])]


def option(argv: list[str], flag: str) -> list[str]:
    """The values after `flag` up to the next flag."""
    if flag not in argv:
        return []
    values = []
    for token in argv[argv.index(flag) + 1:]:
        if token.startswith("--"):
            break
        values.append(token)
    return values


def test_the_docs_deploy_templates_with_cloudformation():
    assert CFN_DEPLOYS, "no CloudFormation deploy command found in the docs"


@pytest.mark.parametrize("command", CFN_DEPLOYS, ids=str)
def test_every_doc_cloudformation_deploy_passes_the_capabilities_its_template_needs(command):
    argv = argv_of(command.text)[0]
    template = (option(argv, "--template-file") or [v.removeprefix("file://") for v in option(argv, "--template-body")])
    assert template, f"{command}: no local template to check"
    needed = required_capabilities(ROOT / template[0])
    given = set(option(argv, "--capabilities"))
    assert satisfies(given, needed), f"{command}: real CloudFormation needs --capabilities {' '.join(sorted(needed))}"


def test_the_rule_sees_what_it_should():
    """The independent rule is not vacuous: the bootstrap's boundary is a named managed policy, the
    network stack's roles are unnamed, the root stack inherits its nested stacks' needs."""
    assert required_capabilities(BUILD / "bootstrap.yaml") == {"CAPABILITY_NAMED_IAM"}
    assert required_capabilities(BUILD / "network.yaml") == {"CAPABILITY_IAM"}
    assert required_capabilities(BUILD / "cluster.yaml") == set()
    assert required_capabilities(BUILD / "root.yaml") >= {"CAPABILITY_IAM"}


@pytest.mark.parametrize("name", sorted(p.name for p in BUILD.glob("*.yaml")))
def test_the_codes_capabilities_meet_cloudformations_rule(name):
    """deploy.capabilities() for every stack in build/, given the documents the pipeline gives it
    (the root with all its nested stacks)."""
    path = BUILD / name
    doc = cfn_yaml.load(str(path))
    docs = [doc]
    for resource in doc.get("Resources", {}).values():
        if resource.get("Type") == "AWS::CloudFormation::Stack":
            child = re.search(r"([A-Za-z0-9_-]+\.(?:yaml|json))", str(resource["Properties"]["TemplateURL"])).group(1)
            docs.append(cfn_yaml.load(str(BUILD / child)))
    needed = required_capabilities(path)
    assert satisfies(set(code_capabilities(docs)), needed), (name, code_capabilities(docs), needed)
