"""The warnings a deploy goes ahead with: a production environment whose alarms and budget notify
no one is named, with the config key that fixes it, in `plan` and `deploy` output."""

from __future__ import annotations

import pytest

from enrollcfn.config import Config, load
from enrollcfn.preflight import preflight, warnings
from tests.conftest import stubbed

TOPIC = "arn:aws:sns:ap-southeast-2:123456789012:ops-pager"


def test_production_without_a_subscriber_is_warned_naming_alarm_email():
    (warning,) = warnings(Config())
    assert warning.key == "monitoring.alarm_email"
    assert "monitoring.alarm_topic_arn" in warning.message  # the other way to be heard


@pytest.mark.parametrize("monitoring", [{"alarm_email": "ops@example.com"}, {"alarm_topic_arn": TOPIC}])
def test_either_subscriber_silences_it(monitoring):
    assert warnings(Config(monitoring=monitoring)) == []


def test_a_non_production_environment_is_not_warned():
    assert warnings(load("config/dev.yaml")) == []
    # production is declared, not guessed: an environment of another name is production by default
    assert [w.key for w in warnings(Config(environment="staging"))] == ["monitoring.alarm_email"]


# ---- the hosted zone: public, and the one the registrar delegates to ---------------------------
# GetHostedZone responses in the shape of the Route 53 API reference (API_GetHostedZone: HostedZone
# with Config.PrivateZone, DelegationSet.NameServers for a public zone, VPCs for a private one);
# botocore's Stubber checks each against the service model.

ZONE_ID = "Z0123456789ABCDEFGHIJ"
NAME_SERVERS = ["ns-2048.awsdns-64.com", "ns-2049.awsdns-65.net", "ns-2050.awsdns-66.org", "ns-2051.awsdns-67.co.uk"]


@pytest.fixture
def route53():
    yield from stubbed("route53", "us-east-1")


def _zone_cfg() -> Config:
    return Config(dns={"hosted_zone_id": ZONE_ID})


def _public_zone(name_servers=NAME_SERVERS) -> dict:
    return {
        "HostedZone": {"Id": f"/hostedzone/{ZONE_ID}", "Name": "martincaringal.co.nz.", "CallerReference": "C741617D-04E4-F8DE-B9D7-0D150FC61C2E",
                       "Config": {"PrivateZone": False}, "ResourceRecordSetCount": 8},
        "DelegationSet": {"NameServers": list(name_servers)},
    }


def _private_zone() -> dict:
    return {
        "HostedZone": {"Id": f"/hostedzone/{ZONE_ID}", "Name": "martincaringal.co.nz.", "CallerReference": "private-1",
                       "Config": {"Comment": "inside the VPC", "PrivateZone": True}, "ResourceRecordSetCount": 2},
        "VPCs": [{"VPCRegion": "ap-southeast-2", "VPCId": "vpc-0123456789abcdef0"}],
    }


def _check(route53, response, resolver):
    route53.stub.add_response("get_hosted_zone", response, {"Id": ZONE_ID})
    notes = []
    return preflight(route53, _zone_cfg(), resolver=resolver, notes=notes), notes


def test_a_private_hosted_zone_is_refused_in_one_line_naming_the_key(route53):
    asked = []
    problems, _ = _check(route53, _private_zone(), lambda zone: asked.append(zone) or set(NAME_SERVERS))
    (problem,) = problems
    assert problem.key == "dns.hosted_zone_id" and "private hosted zone" in problem.message and "\n" not in problem.message
    assert "list-hosted-zones-by-name --dns-name martincaringal.co.nz" in problem.message
    assert asked == []  # refused before any DNS lookup


def test_a_zone_the_registrar_delegates_elsewhere_is_refused_naming_both_sets(route53):
    elsewhere = {"ns1.registrar-parking.example", "ns2.registrar-parking.example"}
    (problem,), _ = _check(route53, _public_zone(), lambda zone: elsewhere)
    assert problem.key == "dns.hosted_zone_id"
    assert problem.message.startswith("the registrar delegates martincaringal.co.nz to ns1.registrar-parking.example ns2.registrar-parking.example, "
                                      "not to this hosted zone's ns-2048.awsdns-64.com")
    assert all(ns in problem.message for ns in NAME_SERVERS)


def test_an_undelegated_name_is_refused(route53):
    (problem,), _ = _check(route53, _public_zone(), lambda zone: set())
    assert "delegates martincaringal.co.nz to no name servers" in problem.message


def test_the_delegated_public_zone_passes_whatever_the_case_and_final_dot(route53):
    answer = {ns.upper() + "." for ns in NAME_SERVERS[:2]}  # DNS names compare case-insensitively
    problems, notes = _check(route53, _public_zone(), lambda zone: answer if zone == "martincaringal.co.nz" else None)
    assert problems == [] and notes == []


def test_an_unknown_delegation_is_a_warning_that_says_it_was_not_checked(route53):
    problems, (note,) = _check(route53, _public_zone(), lambda zone: None)
    assert problems == [] and note.key == "dns.hosted_zone_id" and "not checked" in note.message


def test_the_real_resolver_without_dnspython_answers_unknown(monkeypatch):
    import builtins

    from enrollcfn.preflight import public_name_servers

    real_import = builtins.__import__

    def no_dns(name, *args, **kwargs):
        if name == "dns" or name.startswith("dns."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dns)
    assert public_name_servers("martincaringal.co.nz") is None
