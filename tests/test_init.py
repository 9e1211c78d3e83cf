"""`enrollcfn init` against the local AWS: the zone's id looked up by name, the account read from
the credentials, files that deploy reads back, and bad answers refused before anything is asked
of AWS or written."""

from __future__ import annotations

import boto3
import pytest
import yaml

from enrollcfn import project as pf
from enrollcfn.cli import main
from enrollcfn.config import load
from enrollcfn.local import server as localaws

ACCOUNT = "123456789012"  # moto's account for the test credentials


@pytest.fixture(scope="module")
def aws():
    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        route53 = boto3.client("route53")
        public = route53.create_hosted_zone(Name="example.org", CallerReference="init-public")["HostedZone"]["Id"].rsplit("/", 1)[-1]
        route53.create_hosted_zone(Name="inside.example", CallerReference="init-private", VPC={"VPCRegion": localaws.REGION, "VPCId": "vpc-12345678"},
                                   HostedZoneConfig={"PrivateZone": True, "Comment": "private"})
        yield {"zone_id": public}


@pytest.fixture
def here(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(pf.ENV_VARIABLE, raising=False)
    return tmp_path


def test_init_writes_a_project_file_and_a_config_that_deploy_reads(aws, here, capsys):
    assert main(["init", "staging", "--zone", "example.org", "--email", "ops@example.org"]) == 0
    out = capsys.readouterr().out
    project = pf.load(here / pf.FILE_NAME)
    env = project.get("staging")
    assert (env.stack, env.account, env.region, env.config) == ("se-staging", ACCOUNT, localaws.REGION, here / "config" / "staging.yaml")
    cfg = load(env.config)
    assert cfg.dns.hosted_zone_id == aws["zone_id"] and cfg.dns.zone_name == "example.org"
    assert cfg.monitoring.alarm_email == "ops@example.org" and cfg.environment == "staging"
    # not production by name: destroy removes it all (the defaults follow `production`)
    assert cfg.production is False and cfg.database.deletion_protection is False and cfg.load_balancer.deletion_protection is False
    assert "next: `enrollcfn bootstrap staging`" in out


def test_a_second_environment_is_added_and_a_name_taken_is_refused(aws, here, capsys):
    assert main(["init", "staging", "--zone", "example.org"]) == 0
    assert main(["init", "production", "--zone", "example.org", "--domain", "api.example.org"]) == 0
    project = pf.load(here / pf.FILE_NAME)
    assert list(project.environments) == ["staging", "production"]
    prod = load(project.get("production").config)
    assert prod.production is True and prod.database.deletion_protection is True and prod.dns.api_domain == "api.example.org"
    capsys.readouterr()
    assert main(["init", "staging", "--zone", "example.org"]) == 1
    assert capsys.readouterr().err.startswith("error: staging: is already an environment of ")


def test_a_private_or_missing_zone_is_refused_and_nothing_is_written(aws, here, capsys):
    for zone, why in (("inside.example", "only a private one"), ("nowhere.example", "create it")):
        assert main(["init", "staging", "--zone", zone]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: dns.zone_name: no public hosted zone {zone} in this account") and why in err
    assert list(here.iterdir()) == [here / ".git"]


@pytest.mark.parametrize("argv, key", [
    (["--zone", "not a domain"], "dns.zone_name"),
    (["--zone", "example.org", "--email", "nobody"], "monitoring.alarm_email"),
    (["--zone", "example.org", "--region", "mars-1"], "--region"),
    (["--zone", "example.org", "--domain", "api.other.org"], "dns.api_domain"),
    (["--zone", "example.org", "--account", "12345"], "--account"),
    (["--zone", "example.org", "--stack", "1-bad"], "--stack"),
    (["--zone", "example.org", "--profile", "bad;profile"], "--profile"),
])
def test_bad_answers_are_one_line_at_their_key_before_any_aws_call(here, capsys, argv, key):
    def no_client(service):
        raise AssertionError("no AWS client may be made for bad input")

    assert main(["init", "staging", *argv], client_factory=no_client) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {key}:") and "Traceback" not in err
    assert list(here.iterdir()) == [here / ".git"]


def test_without_a_terminal_the_zone_must_be_given(here, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    assert main(["init"]) == 64
    assert "pass --zone" in capsys.readouterr().err


def test_the_config_holds_only_what_differs_from_the_defaults(aws, here):
    assert main(["init", "staging", "--zone", "example.org"]) == 0
    doc = yaml.safe_load((here / "config" / "staging.yaml").read_text())
    assert set(doc) == {"environment", "region", "production", "dns", "monitoring"}


def test_cost_and_build_take_the_environment_init_wrote(aws, here, capsys):
    assert main(["init", "staging", "--zone", "example.org"]) == 0
    capsys.readouterr()
    assert main(["cost", "staging", "--json"]) == 0
    by_name = capsys.readouterr().out
    assert main(["cost", "--config", str(here / "config" / "staging.yaml"), "--json"]) == 0
    assert by_name == capsys.readouterr().out
    assert main(["build", "staging", "--out", str(here / "out"), "--json"]) == 0
    capsys.readouterr()
    assert main(["cost", "prod"]) == 1
    assert capsys.readouterr().err.startswith("error: prod: no such environment in ")
