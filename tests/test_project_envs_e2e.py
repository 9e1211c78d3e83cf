"""Environments by name against the local AWS: production deployed through `enrollcfn deploy
production` (enrollcfn.yaml pairs its stack and config), then `ls`, `show` and `secrets`; the checks
before a change refuse the wrong config for a stack and another account before anything is created,
with the account, region and stack in the message; a stack that is not there is said first."""

from __future__ import annotations

import contextlib
import io
import json

import boto3
import pytest
from botocore.stub import Stubber

from enrollcfn import project as pf
from enrollcfn.cli import main
from enrollcfn.config import Config
from enrollcfn.local import server as localaws

ACCOUNT = "123456789012"  # moto's account for the test credentials
STACK = "se-envs"
SECRET = "s3cr3t-mail-password-value"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project with production (deployed) and staging (not deployed) on a fresh local AWS."""
    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        mp.delenv(pf.ENV_VARIABLE, raising=False)
        cfg = Config()
        zone = boto3.client("route53").create_hosted_zone(Name=cfg.dns.zone_name, CallerReference="envs")["HostedZone"]["Id"].rsplit("/", 1)[-1]
        top = tmp_path_factory.mktemp("project")
        (top / ".git").mkdir()
        (top / "config").mkdir()
        (top / "config" / "production.yaml").write_text(f"dns:\n  hosted_zone_id: {zone}\n")
        (top / "config" / "staging.yaml").write_text(f"environment: staging\nproduction: false\ndns:\n  hosted_zone_id: {zone}\n")
        (top / pf.FILE_NAME).write_text(f"""\
environments:
  production: {{config: config/production.yaml, stack: {STACK}, account: "{ACCOUNT}", region: {localaws.REGION}}}
  staging: {{config: config/staging.yaml, stack: se-stg, account: "{ACCOUNT}", region: {localaws.REGION}}}
""")
        mp.chdir(top)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(["deploy", "production", "--yes"])  # creates the repository, stops at the preflight
            digest = localaws.push_image(boto3.client("ecr"), cfg.registry.repository_name, "latest", "first")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(["deploy", "production", "--yes"]) == 0
        yield {"top": top, "digest": digest, "deploy_out": out.getvalue()}


def cli(capsys, *argv, client_factory=None) -> tuple[int, str, str]:
    code = main(list(argv), client_factory=client_factory)
    out, err = capsys.readouterr()
    return code, out, err


def _stacks() -> set[str]:
    return {s["StackName"] for s in boto3.client("cloudformation").list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"}


def test_deploy_by_name_says_where_before_the_change(project):
    first = project["deploy_out"].splitlines()[0]
    assert first == f"environment production, account {ACCOUNT}, region {localaws.REGION}, stack {STACK}"


def test_the_wrong_config_for_a_stack_is_refused_before_anything_is_created(project, capsys, tmp_path, monkeypatch):
    """The finding: `deploy --stack se-stg --yes` without --config (the production defaults) on
    staging's stack. No project file here: the stack's environment tag is what refuses it."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    template = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    boto3.client("cloudformation").create_stack(StackName="se-stg", TemplateBody=template,
                                                Tags=[{"Key": "environment", "Value": "staging"}, {"Key": "project", "Value": "student-enrollment"}])
    before = _stacks()
    try:
        code, out, err = cli(capsys, "deploy", "--stack", "se-stg", "--yes")
        after = _stacks()
        change_sets = [c for c in boto3.client("cloudformation").list_change_sets(StackName="se-stg")["Summaries"]
                       if "/se-stg" in c["StackId"]]  # moto lists every stack's
    finally:
        boto3.client("cloudformation").delete_stack(StackName="se-stg")
    assert code == 1
    assert out.splitlines()[0] == f"environment production, account {ACCOUNT}, region {localaws.REGION}, stack se-stg"
    [line] = err.strip().splitlines()
    assert line.startswith(f"error: se-stg: in account {ACCOUNT}, region {localaws.REGION} this stack belongs to environment 'staging' "
                           "(its environment tag), but the default config (no --config) is environment 'production'; nothing was changed")
    assert after == before and "se-stg-bootstrap" not in after  # no bootstrap stack created
    assert change_sets == []


def test_another_account_is_refused_before_anything_is_created(project, capsys):
    sts = boto3.client("sts")
    other = "210987654321"
    with Stubber(sts) as stub:
        stub.add_response("get_caller_identity", {"Account": other, "Arn": f"arn:aws:iam::{other}:user/ops", "UserId": "AIDAEXAMPLE"})
        before = _stacks()
        code, out, err = cli(capsys, "deploy", "staging", "--yes", client_factory=lambda s: sts if s == "sts" else boto3.client(s))
        stub.assert_no_pending_responses()
    assert code == 1
    assert out.splitlines()[0] == f"environment staging, account {ACCOUNT}, region {localaws.REGION}, stack se-stg"
    [line] = err.strip().splitlines()
    assert line.startswith(f"error: se-stg: the credentials are for account {other}, but {project['top'] / pf.FILE_NAME} puts "
                           f"environment staging in account {ACCOUNT} (region {localaws.REGION}); nothing was changed")
    assert _stacks() == before and "se-stg-bootstrap" not in before


def test_ls_lists_each_environment_with_its_state_and_image(project, capsys):
    code, out, err = cli(capsys, "ls")
    assert code == 0, err
    heading, production, staging = out.splitlines()
    assert heading.split() == ["ENVIRONMENT", "STACK", "ACCOUNT", "REGION", "STATE", "IMAGE"]
    assert production.split()[:3] == ["production", STACK, ACCOUNT] and production.split()[-1] == project["digest"]
    assert production.split()[4] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    assert staging.split() == ["staging", "se-stg", ACCOUNT, localaws.REGION, "not", "deployed", "-"]
    code, out, err = cli(capsys, "ls", "--json")
    rows = {r["environment"]: r for r in json.loads(out)["environments"]}
    assert rows["production"]["image_digest"] == project["digest"] and rows["staging"]["state"] == "not deployed"
    assert rows["staging"]["config"] == "config/staging.yaml"


def test_show_prints_the_url_outputs_image_and_config(project, capsys):
    code, out, err = cli(capsys, "show", "production")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"environment production, account {ACCOUNT}, region {localaws.REGION}, stack {STACK} (")
    assert lines[1].startswith("api      https://") and lines[1].endswith(Config().dns.zone_name)
    assert lines[2].startswith(f"image    {project['digest']} (tag ")
    assert lines[3] == "config   config/production.yaml"
    assert "  AppSecretArn" in out and "  ClusterName" in out
    shown = json.loads(cli(capsys, "show", "production", "--json")[1])
    assert shown["image"]["digest"] == project["digest"] and shown["api_url"].startswith("https://")
    assert shown["outputs"]["ClusterName"] == "student-enrollment-production"


def _secret() -> dict:
    stack = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    arn = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["AppSecretArn"]
    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def test_secrets_set_from_standard_input_never_shows_the_value(project, capsys, monkeypatch):
    code, out, err = cli(capsys, "secrets", "ls", "production")
    assert code == 0, err
    assert out.splitlines()[:2] == ["  APP_KEY                      set", "  MAIL_PASSWORD                missing"]
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    code, out, err = cli(capsys, "secrets", "set", "production", "MAIL_PASSWORD")
    assert code == 0, err
    assert SECRET not in out + err
    assert out.splitlines()[0] == f"environment production, account {ACCOUNT}, region {localaws.REGION}, stack {STACK}"
    assert "aws ecs update-service --cluster student-enrollment-production --service student-enrollment-production --force-new-deployment" in out
    doc = _secret()
    assert doc["MAIL_PASSWORD"] == SECRET and doc["APP_KEY"]  # the other keys kept
    code, out, err = cli(capsys, "secrets", "ls", "production", "--json")
    keys = {k["name"]: k["state"] for k in json.loads(out)["keys"]}
    assert keys["MAIL_PASSWORD"] == "set" and keys["REDIS_PASSWORD"] == "missing" and SECRET not in out


def test_secrets_set_refuses_an_empty_value(project, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    code, out, err = cli(capsys, "secrets", "set", "production", "REDIS_PASSWORD")
    assert code == 1 and err.startswith("error: REDIS_PASSWORD: the value is empty; nothing was changed")
    assert _secret().get("REDIS_PASSWORD", "") == ""


@pytest.mark.parametrize("command", [["status"], ["logs"], ["drift"], ["show"], ["secrets", "ls"]])
def test_a_typo_stack_names_the_environments_not_a_deploy(project, capsys, command):
    code, out, err = cli(capsys, *command, "--stack", "se-envz")
    assert code == 1
    assert err == (f"error: se-envz: no such stack in region {localaws.REGION}; did you mean {STACK}? "
                   f"the environments are: production ({STACK}), staging (se-stg)\n")


def test_destroy_of_a_typo_says_it_is_not_there_first(project, capsys):
    code, out, err = cli(capsys, "destroy", "--stack", "se-envz", "--yes")
    assert code == 1
    assert err == (f"error: se-envz: no such stack in account {ACCOUNT}, region {localaws.REGION} (nor se-envz-bootstrap); "
                   f"did you mean {STACK}? the environments are: production ({STACK}), staging (se-stg)\n")


def test_status_of_an_environment_not_deployed_says_so(project, capsys):
    code, out, err = cli(capsys, "status", "staging")
    assert code == 1 and err == (f"error: se-stg: no such stack in region {localaws.REGION}: environment staging is not deployed "
                                 "(deploy it with `enrollcfn deploy staging`)\n")


def test_rollback_to_a_revision_that_does_not_exist_is_one_line(project, capsys):
    code, out, err = cli(capsys, "rollback", "production", "--to", "99", "--yes")
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith("error: --to: task definition student-enrollment-production has no revision 99; it has revision")


def test_logs_follow_interrupted_exits_130(project, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr("enrollcfn.operations.logs.follow", interrupted)
    code, out, err = cli(capsys, "logs", "production", "--follow")
    assert code == 130
