"""The delivery stack and the CI workflow: who may assume the roles (the compiled trust policies
read back and evaluated against candidate GitHub tokens with IAM's condition semantics), what the
roles may do, the names IAM accepts, bad input, and the workflow ci-workflow writes (parsed, and
checked by actionlint when it is installed). End to end: deploy creates NAME-delivery on the
local AWS and ci-workflow reads the role ARN IAM holds."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
from fnmatch import fnmatchcase

import boto3
import pytest
import yaml
from cfn_flip import load_yaml

from enrollcfn.cli import main
from enrollcfn.config import Config
from enrollcfn.config.names import role_name
from enrollcfn.workflow import install_steps, render

ISSUER = "token.actions.githubusercontent.com"  # GitHub's OIDC issuer (docs.github.com, OpenID Connect reference)
REPO = "acme/enrollment-api"
DELIVERY = {"enabled": True, "repository": REPO, "branch": "main", "environment": "production",
            "release": "deploy", "execution_role_name": "acme-cfn-exec"}
IAM_ROLE_NAME_LIMIT = 64  # IAM User Guide, "IAM and AWS STS quotas": role name, 64 characters


def _config_text(delivery: dict, extra: str = "") -> str:
    return yaml.safe_dump({"delivery": delivery}) + extra


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """delivery.yaml as `enrollcfn build` writes it, read back from the file."""
    root = tmp_path_factory.mktemp("delivery")
    (root / "c.yaml").write_text(_config_text(DELIVERY))
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["build", "--config", str(root / "c.yaml"), "--out", str(root / "out")]) == 0  # cfn-lint included
    return load_yaml((root / "out" / "delivery.yaml").read_text())


def _trust(template, role: str) -> list[dict]:
    return template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]


def _holds(block: dict, claims: dict) -> bool:
    """IAM: every operator and key of a Condition block must match (AND), any of a key's values
    may (OR); a key absent from the request fails StringEquals/StringLike."""
    tests = {"StringEquals": lambda want, got: got == want, "StringLike": lambda want, got: fnmatchcase(got, want)}
    for operator, keys in block.items():
        assert operator in tests, f"unexpected operator {operator} in a trust policy"
        for key, wanted in keys.items():
            wanted = wanted if isinstance(wanted, list) else [wanted]
            if key not in claims or not any(tests[operator](w, claims[key]) for w in wanted):
                return False
    return True


def _admits(template, role: str, claims: dict) -> bool:
    """Would AssumeRoleWithWebIdentity with a token of `claims` from GitHub's provider succeed?"""
    for s in _trust(template, role):
        if s["Effect"] == "Allow" and "sts:AssumeRoleWithWebIdentity" in s["Action"] and _holds(s.get("Condition", {}), claims):
            return True
    return False


WORKFLOW = f"{REPO}/.github/workflows/deploy.yml"  # job_workflow_ref: <owner>/<repo>/<path>@<ref> (GitHub, OpenID Connect reference)


def token(sub: str, aud: str | None = "sts.amazonaws.com", workflow: str | None = None) -> dict:
    if workflow is None:
        workflow = f"{WORKFLOW}@refs/pull/7/merge" if sub.endswith(":pull_request") else f"{WORKFLOW}@refs/heads/main"
    claims = {f"{ISSUER}:sub": sub, f"{ISSUER}:job_workflow_ref": workflow}
    if aud is not None:
        claims[f"{ISSUER}:aud"] = aud
    return claims


@pytest.mark.parametrize("sub", [f"repo:{REPO}:ref:refs/heads/main", f"repo:{REPO}:environment:production"])
def test_the_configured_branch_and_environment_may_assume_the_delivery_role(template, sub):
    assert _admits(template, "DeliveryRole", token(sub))


@pytest.mark.parametrize("sub", [
    "repo:acme/other-app:ref:refs/heads/main",            # another repository
    "repo:evil/enrollment-api:ref:refs/heads/main",       # the same name under another owner
    f"repo:{REPO}:ref:refs/heads/feature",                # another branch
    f"repo:{REPO}:ref:refs/heads/main-2",                 # a branch that only starts like it
    f"repo:{REPO}:environment:staging",                   # another environment
    f"repo:{REPO}:pull_request",                          # a pull request
    f"repo:{REPO}:ref:refs/tags/v1",                      # a tag
    "repo:*", "repo:acme/*", f"repo:{REPO}:*",            # wildcard subjects are plain text to StringEquals
])  # fmt: skip
def test_other_repositories_branches_and_wildcard_subjects_do_not_match(template, sub):
    assert not _admits(template, "DeliveryRole", token(sub))
    assert not _admits(template, "PlanRole", token(sub)) or sub == f"repo:{REPO}:pull_request"


@pytest.mark.parametrize("aud", [None, "https://github.com/acme", "sts.amazonaws.com.evil"])
def test_the_audience_is_required(template, aud):
    assert not _admits(template, "DeliveryRole", token(f"repo:{REPO}:ref:refs/heads/main", aud))


def test_pull_requests_may_assume_only_the_plan_role(template):
    pr = token(f"repo:{REPO}:pull_request")
    assert _admits(template, "PlanRole", pr) and not _admits(template, "DeliveryRole", pr)
    assert not _admits(template, "PlanRole", token(f"repo:{REPO}:ref:refs/heads/main"))


def test_the_trust_names_the_github_provider_and_no_other_principal(template):
    provider = template["Resources"]["GitHubProvider"]
    assert provider["Type"] == "AWS::IAM::OIDCProvider" and provider["Properties"]["Url"] == f"https://{ISSUER}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    for role in ("DeliveryRole", "PlanRole"):
        for s in _trust(template, role):
            assert s["Principal"] == {"Federated": {"Ref": "GitHubProvider"}} and s["Action"] == ["sts:AssumeRoleWithWebIdentity"]
            assert set(s["Condition"]) <= {"StringEquals", "StringLike"}
            assert not any(k.endswith(":sub") or k.endswith(":aud") for k in s["Condition"].get("StringLike", {})), "sub and aud literal"


@pytest.mark.parametrize("workflow", [
    f"{REPO}/.github/workflows/other.yml@refs/heads/main",       # another workflow of the repository
    f"{REPO}/.github/workflows/deploy.yml@refs/heads/feature",   # the workflow file from another branch
    "acme/other-app/.github/workflows/deploy.yml@refs/heads/main",  # a reusable workflow elsewhere
])  # fmt: skip
def test_only_the_pinned_workflow_file_on_the_branch_may_assume_the_delivery_role(template, workflow):
    assert not _admits(template, "DeliveryRole", token(f"repo:{REPO}:ref:refs/heads/main", workflow=workflow))
    assert not _admits(template, "DeliveryRole", {k: v for k, v in token(f"repo:{REPO}:ref:refs/heads/main").items() if "job_workflow_ref" not in k})


def test_pull_requests_plan_only_through_the_pinned_workflow_file(template):
    assert _admits(template, "PlanRole", token(f"repo:{REPO}:pull_request", workflow=f"{WORKFLOW}@refs/pull/12/merge"))
    assert not _admits(template, "PlanRole", token(f"repo:{REPO}:pull_request", workflow=f"{REPO}/.github/workflows/x.yml@refs/pull/12/merge"))


def _allows(template, role: str) -> list[dict]:
    return [s for p in template["Resources"][role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]


@pytest.mark.parametrize("role", ["DeliveryRole", "PlanRole"])
def test_no_allow_grants_star_but_the_registry_login(template, role):
    for s in _allows(template, role):
        assert not any("*" in a.split(":", 1)[1] for a in s["Action"]), s["Action"]  # no iam:*, no ecr:*
        if "*" in s["Resource"]:
            assert s["Action"] == ["ecr:GetAuthorizationToken"], s


def _sub(node) -> str:
    return node["Fn::Sub"] if isinstance(node, dict) else node


def test_the_delivery_role_pushes_only_to_this_environments_repository(template):
    pushes = [s for s in _allows(template, "DeliveryRole") if "ecr:PutImage" in s["Action"]]
    assert [_sub(r) for s in pushes for r in s["Resource"]] == [
        "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/student-enrollment-production"]
    assert not any("ecr:PutImage" in s["Action"] for s in _allows(template, "PlanRole"))


def test_passrole_is_the_named_execution_role_to_cloudformation_only(template):
    for role in ("DeliveryRole", "PlanRole"):
        passes = [s for s in _allows(template, role) if "iam:PassRole" in s["Action"]]
        assert len(passes) == 1 and passes[0]["Action"] == ["iam:PassRole"]
        assert [_sub(r) for r in passes[0]["Resource"]] == ["arn:${AWS::Partition}:iam::${AWS::AccountId}:role/acme-cfn-exec"]
        assert passes[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
        assert not any(a.startswith("iam:") and a != "iam:PassRole" for s in _allows(template, role) for a in s["Action"])


def test_change_sets_are_executed_only_by_the_delivery_role_on_this_environments_stacks(template):
    executes = [s for s in _allows(template, "DeliveryRole") if "cloudformation:ExecuteChangeSet" in s["Action"]]
    stacks = [_sub(r) for s in executes for r in s["Resource"]]
    assert stacks and all(re.fullmatch(r"arn:\$\{AWS::Partition\}:cloudformation:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
                                       r"stack/\$\{RootStackName\}(-[A-Za-z]+Stack-\*)?/\*", r) for r in stacks), stacks
    assert not any("cloudformation:ExecuteChangeSet" in s["Action"] for s in _allows(template, "PlanRole"))


def test_push_only_release_has_no_cloudformation_rights(tmp_path):
    (tmp_path / "c.yaml").write_text(_config_text({"enabled": True, "repository": REPO}))
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["build", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "out")]) == 0
    doc = load_yaml((tmp_path / "out" / "delivery.yaml").read_text())
    assert set(doc["Resources"]) == {"GitHubProvider", "DeliveryRole"}
    assert {a.split(":")[0] for s in _allows(doc, "DeliveryRole") for a in s["Action"]} == {"ecr"}


def test_an_existing_provider_is_named_instead_of_created(tmp_path):
    arn = f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"
    (tmp_path / "c.yaml").write_text(_config_text({"enabled": True, "repository": REPO, "provider_arn": arn}))
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["build", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "out")]) == 0
    doc = load_yaml((tmp_path / "out" / "delivery.yaml").read_text())
    assert "GitHubProvider" not in doc["Resources"]
    assert _trust(doc, "DeliveryRole")[0]["Principal"] == {"Federated": arn}


def test_the_default_config_builds_no_delivery_stack(compiled):
    assert "delivery" not in compiled.stacks


def test_role_names_fit_iams_limit_and_stay_distinct():
    longest = ("p" * 31 + "a", "e" * 31 + "b")  # config.model.Slug: at most 32 characters each
    names = {role_name(*longest, purpose) for purpose in ("delivery", "plan")} | {role_name("p" * 31 + "a", "e" * 31 + "c", "delivery")}
    assert len(names) == 3
    assert all(len(n) <= IAM_ROLE_NAME_LIMIT and re.fullmatch(r"[\w+=,.@-]+", n) for n in names), names
    assert role_name("student-enrollment", "dev", "delivery") == "student-enrollment-dev-delivery"


def test_the_roles_of_several_environments_share_no_name_and_fit_iams_limit():
    from tests.test_physical_names import ENVIRONMENTS, physical_names

    roles = {}
    for env in ENVIRONMENTS:
        extra = {} if env == "production" else {"network": {"mode": "public"}}
        cfg = Config(environment=env, production=env == "production", delivery=DELIVERY, **extra)
        roles[env] = {n for _, n in physical_names(cfg)[("AWS::IAM::Role", "RoleName")]}
    assert all(len(r) >= 2 for r in roles.values())  # the delivery and plan roles, at least
    for a, b in [(a, b) for a in roles for b in roles if a < b]:
        assert not roles[a] & roles[b], f"{a} and {b} both name {roles[a] & roles[b]}"
    assert all(len(n) <= IAM_ROLE_NAME_LIMIT for names in roles.values() for n in names)


# --- bad input: one line naming the key, exit 1, nothing asked of AWS ----------------------------

def _no_aws(service):
    raise AssertionError(f"an AWS client ({service}) was created for bad input")


@pytest.mark.parametrize("delivery, key", [
    ({"enabled": True, "repository": "acme/*"}, "delivery.repository"),
    ({"enabled": True, "repository": "*"}, "delivery.repository"),
    ({"enabled": True, "repository": "acme"}, "delivery.repository"),
    ({"enabled": True, "repository": "acme/app/extra"}, "delivery.repository"),
    ({"enabled": True, "repository": "-acme/app"}, "delivery.repository"),
    ({"enabled": True, "repository": "acme/app", "branch": "*"}, "delivery.branch"),
    ({"enabled": True, "repository": "acme/app", "branch": "release/*"}, "delivery.branch"),
    ({"enabled": True, "repository": "acme/app", "environment": "prod*"}, "delivery.environment"),
    ({"enabled": True, "repository": "acme/app", "release": "deploy"}, "delivery.execution_role_name"),
    ({"enabled": True}, "delivery.repository"),
    ({"enabled": True, "repository": "acme/app", "provider_arn": "arn:aws:iam::111122223333:oidc-provider/example.com"},
     "delivery.provider_arn"),
    ({"enabled": True, "repository": "acme/app", "release": "deploy", "execution_role_name": "arn:aws:iam::1:role/x"},
     "delivery.execution_role_name"),
    ({"enabled": False}, "delivery.enabled"),
    # invisible and look-alike characters in what reaches the trust policy
    ({"enabled": True, "repository": "acme/app", "branch": "ma\u200bin"}, "delivery.branch"),
    ({"enabled": True, "repository": "acme/app", "branch": "m\u0430in"}, "delivery.branch"),
    ({"enabled": True, "repository": "\u0430cme/app"}, "delivery.repository"),
    ({"enabled": True, "repository": "acme/app\u202e"}, "delivery.repository"),
    ({"enabled": True, "repository": "acme/app", "environment": "pr\u043eduction"}, "delivery.environment"),
    ({"enabled": True, "repository": "acme/app", "environment": "production\u00a0"}, "delivery.environment"),
    ({"enabled": True, "repository": "acme/app", "branch": "main\u3000"}, "delivery.branch"),
    ({"enabled": True, "repository": "acme/app", "workflow": "deploy.yml"}, "delivery.workflow"),
    ({"enabled": True, "repository": "acme/app", "workflow": ".github/workflows/*.yml"}, "delivery.workflow"),
    ({"enabled": True, "repository": "acme/app", "workflow": ".github/workflows/d\u0435ploy.yml"}, "delivery.workflow"),
])  # fmt: skip
def test_bad_delivery_config_is_one_line_naming_the_key_and_no_aws_call(tmp_path, capsys, delivery, key):
    (tmp_path / "c.yaml").write_text(_config_text(delivery))
    code = main(["ci-workflow", "--stack", "se-prod", "--config", str(tmp_path / "c.yaml")], client_factory=_no_aws)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {key}: "), err


def test_a_redeploy_prefix_that_would_also_deploy_ci_tags_is_refused(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(_config_text(DELIVERY, "registry:\n  redeploy_tag_prefix: ci\n"))
    code = main(["ci-workflow", "--stack", "se-prod", "--config", str(tmp_path / "c.yaml")], client_factory=_no_aws)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("error: registry.redeploy_tag_prefix: ")


# --- the workflow -----------------------------------------------------------------------------

ROLES = {"DeliveryRoleArn": "arn:aws:iam::111122223333:role/student-enrollment-production-delivery",
         "PlanRoleArn": "arn:aws:iam::111122223333:role/student-enrollment-production-plan"}


GIT_INSTALL = "git+https://github.com/acme/enrollcfn@" + "0123456789abcdef" * 2 + "01234567"  # a full commit


def _workflow(delivery: dict) -> str:
    return render(Config(delivery=delivery), "se-prod", ROLES, install_steps(GIT_INSTALL), "enrollcfn.yaml")


def _steps(doc: dict, job: str, uses: str) -> list[dict]:
    return [s for s in doc["jobs"][job]["steps"] if s.get("uses", "").startswith(uses + "@")]


def test_the_workflow_asks_only_for_an_oidc_token_and_reading_the_code():
    doc = yaml.safe_load(_workflow(DELIVERY))
    assert doc["permissions"] == {"id-token": "write", "contents": "read"}
    assert "secrets." not in _workflow(DELIVERY)  # no stored keys


def test_the_workflow_assumes_the_delivery_role_on_the_branch_and_the_plan_role_on_pull_requests():
    doc = yaml.safe_load(_workflow(DELIVERY))
    assert doc["on"]["push"]["branches"] == ["main"]
    release, plan = doc["jobs"]["release"], doc["jobs"]["plan"]
    assert release["environment"] == "production" and "push" in release["if"] and "pull_request" in plan["if"]
    [creds] = _steps(doc, "release", "aws-actions/configure-aws-credentials")
    assert creds["with"]["role-to-assume"] == ROLES["DeliveryRoleArn"] and creds["with"]["aws-region"] == "${{ env.AWS_REGION }}"
    assert doc["env"]["AWS_REGION"] == "ap-southeast-2"
    [creds] = _steps(doc, "plan", "aws-actions/configure-aws-credentials")
    assert creds["with"]["role-to-assume"] == ROLES["PlanRoleArn"]
    runs = [s.get("run", "") for s in release["steps"]]
    assert any("docker push" in r and "RepoDigests" in r for r in runs)
    assert any(r.startswith("enrollcfn deploy --stack se-prod") and "--yes" in r for r in runs)
    assert any(s.get("run", "").startswith("enrollcfn plan --stack se-prod") for s in plan["steps"])


def test_a_push_only_workflow_pushes_a_tag_the_redeploy_function_deploys():
    doc = yaml.safe_load(_workflow({"enabled": True, "repository": REPO}))
    assert doc["env"]["IMAGE_TAG"].startswith(Config().registry.redeploy_tag_prefix)
    assert not any("enrollcfn" in s.get("run", "") for job in doc["jobs"].values() for s in job["steps"])
    assert not any("configure-aws-credentials" in s.get("uses", "") for s in doc["jobs"]["build"]["steps"])


def test_actions_are_pinned_to_a_major_version_at_least():
    doc = yaml.safe_load(_workflow(DELIVERY))
    uses = [s["uses"] for job in doc["jobs"].values() for s in job["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+(\.\d+){0,2}", u) for u in uses), uses


@pytest.mark.parametrize("delivery", [DELIVERY, {"enabled": True, "repository": REPO}])
def test_actionlint_accepts_the_workflow(tmp_path, delivery):
    linter = shutil.which("actionlint")
    if linter is None:
        pytest.skip("actionlint is not on PATH; the workflow was not linted")
    path = tmp_path / ".github" / "workflows" / "deploy.yml"
    path.parent.mkdir(parents=True)
    path.write_text(_workflow(delivery))
    done = subprocess.run([linter, "-shellcheck=", str(path)], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# --- end to end on the local AWS --------------------------------------------------------------

def test_deploy_creates_the_delivery_stack_runs_the_root_as_the_execution_role_and_ci_workflow_reads_the_roles(tmp_path):
    from enrollcfn.local import server as localaws

    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        zone = boto3.client("route53").create_hosted_zone(Name=Config().dns.zone_name, CallerReference="ci")["HostedZone"]["Id"]
        config = tmp_path / "c.yaml"
        config.write_text(_config_text(DELIVERY, f"environment: citest\nproduction: false\nnetwork: {{mode: public}}\n"
                                                 f"dns:\n  hosted_zone_id: {zone.rsplit('/', 1)[-1]}\n"))
        out = tmp_path / "app" / ".github" / "workflows" / "deploy.yml"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(["deploy", "--stack", "se-ci", "--config", str(config), "--yes"])  # stops at the preflight: no image yet
            assert main(["ci-workflow", "--stack", "se-ci", "--config", str(config), "--out", str(out), "--install", GIT_INSTALL]) == 0
        iam = boto3.client("iam")
        delivery_arn = iam.get_role(RoleName="student-enrollment-citest-delivery")["Role"]["Arn"]
        plan_arn = iam.get_role(RoleName="student-enrollment-citest-plan")["Role"]["Arn"]
        # With the image pushed, the root is created, its change set run as the execution role.
        localaws.push_image(boto3.client("ecr"), "student-enrollment-citest", Config().service.image_tag, "ci")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["deploy", "--stack", "se-ci", "--config", str(config), "--yes"]) == 0
        root = boto3.client("cloudformation").describe_stacks(StackName="se-ci")["Stacks"][0]
        account = boto3.client("sts").get_caller_identity()["Account"]
        # destroy removes the delivery stack with the others (the provider it keeps is not
        # modelled by moto, which reports no id for it: see the unit test below)
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            assert main(["destroy", "--stack", "se-ci", "--config", str(config), "--yes", "--disable-termination-protection"]) == 0, err.getvalue()
        left = {s["StackName"] for s in boto3.client("cloudformation").list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"}
        roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert "se-ci-delivery" not in left and "student-enrollment-citest-delivery" not in roles
    doc = yaml.safe_load(out.read_text())
    assert _steps(doc, "release", "aws-actions/configure-aws-credentials")[0]["with"]["role-to-assume"] == delivery_arn
    assert _steps(doc, "plan", "aws-actions/configure-aws-credentials")[0]["with"]["role-to-assume"] == plan_arn
    assert root["StackStatus"] == "CREATE_COMPLETE" and root["RoleARN"] == f"arn:aws:iam::{account}:role/acme-cfn-exec"


def test_destroy_lists_the_kept_provider_with_the_aws_cli_command_that_deletes_it():
    from enrollcfn.teardown import _removal

    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    label, commands, _ = _removal("AWS::IAM::OIDCProvider", arn, {})
    # AWS CLI: aws iam delete-open-id-connect-provider --open-id-connect-provider-arn <value>
    assert commands == (f"aws iam delete-open-id-connect-provider --open-id-connect-provider-arn {arn}",)
    assert "delivery.provider_arn" in label


def test_a_second_environment_is_told_to_name_the_accounts_provider_before_its_stack_fails(tmp_path, capsys):
    from enrollcfn.local import server as localaws

    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        existing = boto3.client("iam").create_open_id_connect_provider(
            Url=f"https://{ISSUER}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
        zone = boto3.client("route53").create_hosted_zone(Name="martincaringal.co.nz", CallerReference="second")["HostedZone"]["Id"].rsplit("/", 1)[-1]
        config = tmp_path / "c.yaml"
        config.write_text(_config_text({"enabled": True, "repository": REPO}, "environment: second\nproduction: false\n"
                                                                              f"network: {{mode: public}}\ndns: {{hosted_zone_id: {zone}}}\n"))
        code = main(["deploy", "--stack", "se-second", "--config", str(config), "--yes"])
        err = capsys.readouterr().err.strip().splitlines()
        stacks = {s["StackName"] for s in boto3.client("cloudformation").list_stacks()["StackSummaries"]}
    assert code == 1 and err == [f"error: delivery.provider_arn: this account already has the OIDC provider for {ISSUER}; "
                                 f"an account holds one per URL, so name it: delivery.provider_arn: {existing}"]
    assert not stacks  # refused before the bootstrap stack too
