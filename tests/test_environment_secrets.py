"""Secrets in plain sight: credential-shaped values and secret-named variables stay out of the
plain container environment, and no config can set the variables the AWS SDKs and the ECS agent
take credentials from (AWS SDKs and Tools Reference Guide, "Environment variables"; Amazon ECS
task metadata endpoint). Each problem is one line naming the key, before any AWS call."""

from __future__ import annotations

import pytest
import yaml

from enrollcfn.cli import main


def _build(tmp_path, capsys, service: dict) -> tuple[int, list[str]]:
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"service": service}))
    code = main(["build", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "out")])
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("name, value", [
    ("DATABASE_URL", "mysql://app:hunter2@db.internal:3306/app"),
    ("CACHE_URL", "redis://:s3cr3t@cache:6379"),
    ("UPLOAD_ID", "AKIAIOSFODNN7EXAMPLE"),
    ("SESSION_ID", "ASIAIOSFODNN7EXAMPLE"),
    ("SIGNING", "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----"),
    ("SSH_MATERIAL", "-----BEGIN OPENSSH PRIVATE KEY-----"),
    ("SERVICE_BEARER", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
])  # fmt: skip
def test_a_credential_shaped_value_is_refused_whatever_its_name(tmp_path, capsys, name, value):
    code, lines = _build(tmp_path, capsys, {"environment": {name: value}})
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"error: service.environment.{name}: its value looks like")
    assert "service.secrets" in lines[0] and value.splitlines()[0] not in lines[0]  # the value itself is not echoed


@pytest.mark.parametrize("name", ["APIKEY", "PWD", "DB_PWD", "PASSPHRASE", "SECRET2", "API_KEY_1", "apiKey", "stripeSecretKey",
                                  "dbPassword", "MAILGUN_APIKEY", "AUTHTOKEN", "Github_Token3"])
def test_secret_named_variants_are_refused(tmp_path, capsys, name):
    code, lines = _build(tmp_path, capsys, {"environment": {name: "x"}})
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"error: service.environment.{name}: looks like a secret")


@pytest.mark.parametrize("name", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                  "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "ECS_CONTAINER_METADATA_URI",
                                  "ECS_CONTAINER_METADATA_URI_V4", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_PROFILE",
                                  "AWS_ENDPOINT_URL_S3", "AWS_EC2_METADATA_SERVICE_ENDPOINT"])
@pytest.mark.parametrize("where", ["environment", "secrets"])
def test_sdk_reserved_variables_cannot_be_injected(tmp_path, capsys, name, where):
    service = {"environment": {name: "/v2/credentials/x"}} if where == "environment" else {"secrets": ["APP_KEY", name]}
    code, lines = _build(tmp_path, capsys, service)
    key = f"service.environment.{name}" if where == "environment" else "service.secrets[1]"
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"error: {key}: {name} is read by the AWS SDKs"), lines


def test_the_seed_environment_and_ordinary_values_stay_accepted(tmp_path, capsys):
    extra = {"KEYBOARD_LAYOUT": "us", "PASSPORT_DRIVER": "jwt",
             "SUPPORT_URL": "https://example.com/help@desk", "REDIS_URL": "redis://cache:6379", "AWS_DEFAULT_REGION": "ap-southeast-2"}
    code, lines = _build(tmp_path, capsys, {"environment": extra})
    assert code == 0, lines


def test_the_rendered_plain_environment_passes_its_own_checks(rendered):
    """MYSQL_ATTR_SSL_CA (a file path the stacks set) is plain and must stay so."""
    from enrollcfn.config.environment import credential_shaped, sdk_reserved, secret_named

    tasks = [r for r in rendered["service"]["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    env = {e["Name"]: e["Value"] for t in tasks for c in t["Properties"]["ContainerDefinitions"] for e in c.get("Environment", [])}
    assert "MYSQL_ATTR_SSL_CA" in env
    for name, value in env.items():
        assert not secret_named(name) and not sdk_reserved(name), name
        assert not (isinstance(value, str) and credential_shaped(value)), name
