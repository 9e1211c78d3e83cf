"""`enrollcfn publish` end to end through main(argv): the in-memory Service Catalog fake, and moto
for S3 (the artifact bucket), IAM (principals) and CloudFormation (the bootstrap and catalog
stacks' outputs)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from enrollcfn.cli import main
from enrollcfn.local import server as localaws
from tests.fake_servicecatalog import FakeServiceCatalog

REGION = "ap-southeast-2"  # the default config's region
BUCKET = "api-artifacts"
ARGS = ["publish", "--stack", "api", "--portfolio", "Platform", "--product", "enrollment-api", "--yes"]


def _stack(cfn, name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))


@pytest.fixture
def aws(monkeypatch):
    """moto-backed S3/IAM/CloudFormation with the bootstrap and catalog stacks, and the fake catalog."""
    for var, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(var, value)
    localaws.apply_patches()  # outputs of stacks created through change sets, as CloudFormation has them
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        developers = boto3.client("iam").create_role(RoleName="Developers", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        cfn = boto3.client("cloudformation", region_name=REGION)
        _stack(cfn, "api-bootstrap", {"ArtifactBucketName": BUCKET})
        sc = FakeServiceCatalog()

        def clients(service: str):
            return sc if service == "servicecatalog" else boto3.client(service, region_name=REGION)

        yield sc, clients, developers


# The default config's project and environment, written out: the launch role's name in every account.
LAUNCH_ROLE = "student-enrollment-production-launch"


def launch_role() -> str:
    """The name of the role publish created in the api-catalog stack, as IAM has it."""
    stack = boto3.client("cloudformation", region_name=REGION).describe_stacks(StackName="api-catalog")["Stacks"][0]
    arn = stack["Outputs"][0]["OutputValue"]
    return boto3.client("iam").get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]["RoleName"]


def _publish(capsys, clients, *extra: str) -> tuple[int, dict | str]:
    code = main([*ARGS, *extra, "--json"], client_factory=clients)
    out, err = capsys.readouterr()
    where, _, err = err.partition("\n")  # with --json the line naming where the change goes is on stderr
    assert where == "environment production, account 123456789012, region ap-southeast-2, stack api"
    return code, (json.loads(out) if code == 0 else err)


def test_publish_twice_then_change_a_template(aws, capsys, tmp_path):
    sc, clients, developers = aws

    code, first = _publish(capsys, clients, "--principal", developers)
    assert code == 0 and first["changed"]
    assert sorted(e["kind"] for e in first["created"]) == ["artifact", "association", "launch constraint", "portfolio", "principal", "product"]
    (product_id,) = sc.products
    (v1,) = sc.artifacts[product_id]
    assert v1["Url"] == first["url"] and v1["Name"].startswith("v1 ") and sc.launch_role(product_id) == launch_role() == LAUNCH_ROLE
    assert first["url"].startswith(f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/root-")
    keys = [o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == len(first["uploaded"]) and all(k.startswith("templates/") for k in keys)

    writes = len(sc.writes)
    assert main([*ARGS, "--principal", developers], client_factory=clients) == 0
    assert f"nothing to publish: enrollment-api is already at {v1['Name']}; nothing created" in capsys.readouterr().out
    assert len(sc.writes) == writes and len(sc.artifacts[product_id]) == 1

    changed = tmp_path / "more-tasks.yaml"
    changed.write_text("service: {min_tasks: 3}\n")
    code, third = _publish(capsys, clients, "--principal", developers, "--config", str(changed))
    assert code == 0 and [e["kind"] for e in third["created"]] == ["artifact"]
    # monitoring too: the running-task alarm and the budget follow the minimum
    assert sorted(third["uploaded"]) == ["monitoring", "root", "service"]
    old, new = sc.artifacts[product_id]
    assert new["Name"].startswith("v2 ") and new["Description"].startswith("Changed since v1: monitoring, root, service.")
    assert (old["Guidance"], old["Active"], new["Guidance"], new["Active"]) == ("DEPRECATED", True, "DEFAULT", True)

    code, fourth = _publish(capsys, clients, "--config", str(changed), "--keep", "1")
    assert code == 0 and fourth["created"] == [] and not sc.artifacts[product_id][0]["Active"]


def test_product_name_taken_by_another_team_fails_and_creates_nothing(aws, capsys):
    sc, clients, _ = aws
    sc.add_foreign_product("enrollment-api", owner="data team")
    code, err = _publish(capsys, clients)
    assert code == 1 and err.startswith("error: enrollment-api: product name already taken")
    assert sc.writes == [] and sc.portfolios == {}


def test_missing_principal_fails_and_creates_nothing(aws, capsys):
    sc, clients, _ = aws
    missing = "arn:aws:iam::123456789012:role/Nobody"
    code, err = _publish(capsys, clients, "--principal", missing)
    assert code == 1 and err == f"error: {missing}: no such IAM role; create it or leave it out of --principal\n"
    assert sc.writes == [] and sc.portfolios == {} and sc.products == {}


def test_missing_bootstrap_stack_is_a_clear_error(aws, capsys):
    sc, clients, _ = aws
    boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="api-bootstrap")
    code, err = _publish(capsys, clients)
    assert code == 1 and err.startswith("error: api-bootstrap: ") and sc.writes == []


def test_failed_checks_leave_no_launch_role_stack_behind(aws, capsys):
    sc, clients, _ = aws
    code, _ = _publish(capsys, clients, "--principal", "arn:aws:iam::123456789012:role/Nobody")
    assert code == 1
    names = [s["StackName"] for s in boto3.client("cloudformation", region_name=REGION).list_stacks()["StackSummaries"]
             if s["StackStatus"] != "DELETE_COMPLETE"]
    assert names == ["api-bootstrap"]


def test_launch_role_stack_is_not_created_without_confirmation(aws, capsys):
    sc, clients, _ = aws
    code = main([a for a in ARGS if a != "--yes"], client_factory=clients)
    assert code == 1 and "error: api-catalog: not confirmed; nothing was changed" in capsys.readouterr().err
    assert sc.writes == []

ORGANIZATION = "o-abcdefghij"
SHARE = ["--share-account", "111122223333", "--share-ou", "ou-ab12-cdef3456", "--principal-pattern", "arn:aws:iam:::role/Developers"]


@pytest.fixture
def shared_config(tmp_path) -> list[str]:
    """--config of a file naming the organization whose launch roles read the templates."""
    path = tmp_path / "shared.yaml"
    path.write_text(f"catalog:\n  organization_id: {ORGANIZATION}\n", encoding="utf-8")
    return ["--config", str(path)]


def test_share_with_an_account_and_an_ou_twice_then_unshare(aws, capsys, shared_config):
    sc, clients, _ = aws
    sleeps: list[float] = []  # the waits between share-status polls, recorded instead of slept

    code = main([*ARGS, *shared_config, *SHARE, "--json"], client_factory=clients, sleep=sleeps.append)
    out, err = capsys.readouterr()
    first = json.loads(out)
    assert code == 0 and {(e["kind"], e["name"]) for e in first["created"]} >= {
        ("account share", "111122223333"), ("OU share", "ou-ab12-cdef3456"), ("principal pattern", "arn:aws:iam:::role/Developers")}
    (portfolio,) = sc.portfolios
    assert set(sc.shares[portfolio]) == {("ACCOUNT", "111122223333"), ("ORGANIZATIONAL_UNIT", "ou-ab12-cdef3456")}
    assert sc.shares[portfolio][("ORGANIZATIONAL_UNIT", "ou-ab12-cdef3456")]["SharePrincipals"] is True
    assert {"PrincipalARN": "arn:aws:iam:::role/Developers", "PrincipalType": "IAM_PATTERN"} in sc.principals[portfolio]
    assert "sharing with ou-ab12-cdef3456: IN_PROGRESS" in err and len(sleeps) == 2  # progress on stderr under --json
    assert "shared with 111122223333: imported automatically, no AcceptPortfolioShare needed" in err

    writes = len(sc.writes)
    assert main([*ARGS, *shared_config, *SHARE], client_factory=clients) == 0
    assert "nothing to publish" in capsys.readouterr().out and len(sc.writes) == writes  # no duplicate share

    code = main([*ARGS, *shared_config, "--unshare-ou", "ou-ab12-cdef3456", "--json"], client_factory=clients)
    third = json.loads(capsys.readouterr().out)
    assert code == 0 and third["changed"] and [(e["kind"], e["name"]) for e in third["removed"]] == [("OU share", "ou-ab12-cdef3456")]
    assert set(sc.shares[portfolio]) == {("ACCOUNT", "111122223333")}  # unsharing is explicit: the account keeps its share


def test_bad_share_flags_are_one_line_each_and_no_client_is_made(capsys):
    def no_clients(service: str):
        raise AssertionError(f"a {service} client was made for bad input")

    code = main([*ARGS, "--share-account", "12345678901", "--share-ou", "ou-AB12-cdef3456", "--unshare-account", "x"], client_factory=no_clients)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""  # a bad value, like any other (exit 64 is for what argparse refuses)
    assert err.splitlines() == [
        "error: --share-account: '12345678901' is not an AWS account id (12 digits)",
        "error: --share-ou: 'ou-AB12-cdef3456' is not an organizational unit id (ou-<4-32 lower-case letters or digits>-<8-32 of them>, "
        "as Organizations shows it)",
        "error: --unshare-account: 'x' is not an AWS account id (12 digits)",
    ]


def test_sharing_without_organizations_access_fails_before_anything_is_created(aws, capsys, shared_config):
    sc, clients, _ = aws
    sc.organizations_access = "DISABLED"
    code, err = _publish(capsys, clients, *shared_config, *SHARE)
    assert code == 1 and err.startswith("error: organizations access: Service Catalog's access to AWS Organizations is DISABLED")
    assert sc.writes == [] and sc.portfolios == {}
    names = [s["StackName"] for s in boto3.client("cloudformation", region_name=REGION).list_stacks()["StackSummaries"]
             if s["StackStatus"] != "DELETE_COMPLETE"]
    assert names == ["api-bootstrap"]  # no launch-role stack either


def test_sharing_without_an_organization_to_read_the_templates_makes_no_client(capsys):
    def no_clients(service: str):
        raise AssertionError(f"a {service} client was made though no other account could read the templates")

    code = main([*ARGS, "--share-ou", "ou-ab12-cdef3456"], client_factory=no_clients)
    (line,) = capsys.readouterr().err.splitlines()
    assert code == 1 and line.startswith("error: catalog.organization_id: is empty, so no other account's launch role may read")
    # Unsharing needs no reader.
    assert main([*ARGS, "--unshare-ou", "ou-ab12-cdef3456"], client_factory=no_clients) == 1
    assert "a sts client was made" in capsys.readouterr().err  # the first AWS call: who is about to publish
