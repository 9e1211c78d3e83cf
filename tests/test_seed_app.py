"""The seed's own application on what we deploy: the compiled task definition, run by the local
Fargate from the stand-in of the seed image against a MariaDB that requires TLS as RDS does.

Facts asserted come from the application and Fargate, not from this project's constants: the
stand-in reproduces the seed image (nginx on 80 as root with `user www-data`, logs to files, no
VOLUME, an entrypoint that migrates), Laravel writes its sessions and compiled views under
storage/, the database refuses a connection without TLS, and the ELB health check's matcher and
thresholds are read from the compiled target group.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.request

import boto3
import pytest

from enrollcfn.compiler import compile
from enrollcfn.config import Config
from enrollcfn.local import database, fargate, standin
from enrollcfn.local.server import CREDENTIALS, REGION, server

pytestmark = pytest.mark.fargate

_missing = fargate.missing() + database.missing() + standin.missing_tools()
if _missing:
    # CI sets ENROLLCFN_REQUIRE_FARGATE: there these checks fail rather than skip.
    needs = f"the local Fargate needs: {', '.join(dict.fromkeys(_missing))}"
    if os.environ.get("ENROLLCFN_REQUIRE_FARGATE"):
        raise RuntimeError(needs)
    pytest.skip(needs, allow_module_level=True)

CONTAINER = Config().registry.repository_name
SCALE = 0.05  # the health check's interval and timeout, scaled: 30 s becomes 1.5 s
HARDENED_CA = "/etc/ssl/rds/ca-bundle.pem"  # where the ported image's Dockerfile ADDs the RDS bundle


@pytest.fixture(scope="module")
def images():
    return {variant: standin.build(variant) for variant in ("seed", "ported")}


@pytest.fixture(scope="module")
def db():
    with database.running() as running:
        yield running


@pytest.fixture(scope="module")
def ca_url(db):
    """The local CA, served over http on 127.0.0.1 where AWS serves the RDS bundle over https."""
    with database.serving_ca(db) as url:
        yield url


@pytest.fixture(scope="module")
def aws(db):
    """The local AWS's Secrets Manager with the application secret and the RDS-managed secret."""
    with server() as endpoint:
        sm = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint, **_keys())
        # the application secret as CloudFormation creates it: the template's keys, APP_KEY generated
        generate = compile(Config()).stacks["service"].doc["Resources"]["AppSecret"]["Properties"]["GenerateSecretString"]
        value = {**json.loads(generate["SecretStringTemplate"]), generate["GenerateStringKey"]: secrets.token_hex(16)}
        app = sm.create_secret(Name="app", SecretString=json.dumps(value))["ARN"]
        master = sm.create_secret(Name="rds!db", SecretString=json.dumps({"username": db.username, "password": db.password}))["ARN"]
        # the application's database user as the database stack's secret holds it
        user = compile(Config()).stacks["database"].doc["Resources"]["AppDatabaseSecret"]["Properties"]["GenerateSecretString"]
        value = {**json.loads(user["SecretStringTemplate"]), user["GenerateStringKey"]: secrets.token_urlsafe(24)}
        app_db = sm.create_secret(Name="app-db", SecretString=json.dumps(value))["ARN"]
        yield {"read": lambda arn: sm.get_secret_value(SecretId=arn)["SecretString"], "AppSecret": app, "DatabaseSecretArn": master,
               "AppDatabaseSecretArn": app_db, "app_user": value["username"]}


def _keys():
    return {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}


def _values(aws, db) -> dict[str, str]:
    return {
        "AWS::Region": REGION, "AWS::AccountId": "123456789012", "AWS::URLSuffix": "amazonaws.com", "AWS::Partition": "aws",
        "AppSecret": aws["AppSecret"], "DatabaseSecretArn": aws["DatabaseSecretArn"], "AppDatabaseSecretArn": aws["AppDatabaseSecretArn"],
        "DatabaseEndpointAddress": db.host, "DatabaseEndpointPort": str(db.port),
        "ApiDomain": "api.example.test", "ImageTag": "release-1", "AppLogGroupName": "/ecs/student-enrollment-production",
        "ExecutionRole.Arn": "arn:aws:iam::123456789012:role/execution", "TaskRole.Arn": "arn:aws:iam::123456789012:role/task",
        "DatabaseUserExecutionRole.Arn": "arn:aws:iam::123456789012:role/database-user",
    }


def _config(db, **service) -> Config:
    environment = {**Config().service.environment, **service.pop("environment", {})}
    return Config(service={"environment": environment, **service}, database={"name": db.name})


def _task(cfg, image, aws, db, tmp_path, taskdef: str = "TaskDefinition", **kwargs):
    compiled = fargate.from_build(compile(cfg), _values(aws, db))
    return fargate.Task(compiled.task_definitions[taskdef], image, tmp_path, secrets=aws["read"], **kwargs), compiled.health_check


def _get(port: int, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.status, r.read().decode()


@pytest.fixture(scope="module")
def migrated(images, aws, db, ca_url, tmp_path_factory):
    """What the stack runs once per release before the service: the database-user task (as the
    master user), then the migrations, a one-off task of the service's task definition with
    service.migrate_command (as the application's user)."""
    cfg = _config(db, init={"ca_bundle_url": ca_url})
    user, _ = _task(cfg, images["seed"], aws, db, tmp_path_factory.mktemp("user"), taskdef="DatabaseUserTaskDefinition")
    with user:
        user.wait(120)
    assert user.exit_codes()["database-user"] == 0, user.log_text()
    assert f"database user {aws['app_user']} may use {db.name}" in user.log_text("database-user")
    task, _ = _task(cfg, images["seed"], aws, db, tmp_path_factory.mktemp("migrate"),
                    overrides={CONTAINER: list(cfg.service.migrate_command)})
    with task:
        task.wait(180)
    assert task.exit_codes()[CONTAINER] == 0, task.log_text()
    return task.log_text()


def test_the_default_config_serves_the_unchanged_seed_image(images, aws, db, ca_url, migrated, tmp_path):
    assert "students" in migrated  # the stand-in's migration ran, over TLS, as the one-off task
    task, check = _task(_config(db, init={"ca_bundle_url": ca_url}), images["seed"], aws, db, tmp_path)
    with task:
        probes = task.wait_healthy(check, scale=SCALE, limit=200)
        assert task.last_status == "RUNNING", (task.stopped_reason, probes[-3:], task.log_text()[-3000:])
        assert task.exit_codes()["init"] == 0
        assert all(check.accepts(p) for p in probes[-check.healthy:])
        status, page = _get(task.port(), "/")
        assert status == 200 and "Laravel" in page
        storage = task.volume("/var/www/storage")
        assert list((storage / "framework/sessions").iterdir()), "no session file written"
        assert list((storage / "framework/views").glob("*.php")), "no compiled view written"
        status, body = _get(task.port(), "/api/students")
        found = json.loads(body)
        assert status == 200 and found["students"] == 0
        assert found["ssl_cipher"], "the application's database connection does not use TLS"
        assert found["db_user"].split("@")[0] == aws["app_user"] != db.username  # its own user, not the master
        status, body = _get(task.port(), "/api/hello-world")
        assert (status, json.loads(body)) == (200, {"message": "Hello World"})
    stream = task.log_text(CONTAINER)
    assert "welcome rendered" in stream  # Laravel's log line, on stderr through php-fpm
    assert '"GET / HTTP/1.1" 200' in stream  # nginx's access log, through the init container's link
    assert "storage/logs/laravel.log" not in stream


def test_without_the_ca_bundle_the_database_refuses_the_application(images, aws, db, ca_url, migrated, tmp_path):
    cfg = _config(db, init={"ca_bundle_url": ca_url})
    # the same task and command, the CA variable removed: Laravel connects without TLS
    task, _ = _task(cfg, images["seed"], aws, db, tmp_path,
                    overrides={CONTAINER: ["-u", "MYSQL_ATTR_SSL_CA", "php", "artisan", "migrate:status"]})
    with task:
        task.wait(120)
    assert task.exit_codes()[CONTAINER] != 0
    assert "SQLSTATE" in task.log_text(CONTAINER)
    same, _ = _task(cfg, images["seed"], aws, db, tmp_path, overrides={CONTAINER: ["php", "artisan", "migrate:status"]})
    with same:
        same.wait(120)
    assert same.exit_codes()[CONTAINER] == 0, same.log_text()


def test_the_init_container_failing_keeps_the_application_from_starting(images, aws, db, tmp_path):
    """A CA bundle that cannot be fetched stops the task before the application starts."""
    cfg = _config(db, init={"ca_bundle_url": "http://127.0.0.1:9/nothing.pem"})
    task, _ = _task(cfg, images["seed"], aws, db, tmp_path)
    with task:
        reason = task.wait(120)
    assert task.exit_codes()["init"] not in (0, None)
    assert task.exit_codes()[CONTAINER] is None and "did not start" in reason


def _hardened(db) -> Config:
    """README, "Running the seed application": the hardened setting."""
    return _config(db, container_user="www-data", container_port=8080, entrypoint=None, command=None, init={"enabled": False},
                   writable_paths=["/var/www/storage", "/var/www/bootstrap/cache", "/tmp"], environment={"MYSQL_ATTR_SSL_CA": HARDENED_CA})


def test_the_hardened_setting_stops_the_unchanged_seed_image_as_fargate_would(images, aws, db, tmp_path):
    task, check = _task(_hardened(db), images["seed"], aws, db, tmp_path, binds={HARDENED_CA: db.ca})
    with task:
        reason = task.wait(120)
    assert reason == fargate.ESSENTIAL_EXITED
    assert task.exit_codes()[CONTAINER] not in (0, None)
    # nginx, as www-data on a read-only root, cannot open its pid file or its log files
    assert "Read-only file system" in task.log_text(CONTAINER) or "Permission denied" in task.log_text(CONTAINER)


def test_the_hardened_setting_serves_the_ported_image(images, aws, db, migrated, tmp_path):
    task, check = _task(_hardened(db), images["ported"], aws, db, tmp_path, binds={HARDENED_CA: db.ca})
    with task:
        probes = task.wait_healthy(check, scale=SCALE, limit=200)
        assert task.last_status == "RUNNING", (task.stopped_reason, probes[-3:], task.log_text()[-3000:])
        assert _get(task.port(), "/")[0] == 200
        found = json.loads(_get(task.port(), "/api/students")[1])
        assert found["ssl_cipher"]
        assert list((task.volume("/var/www/storage") / "framework/sessions").iterdir())
    assert '"GET / HTTP/1.1" 200' in task.log_text(CONTAINER)
    assert "welcome rendered" in task.log_text(CONTAINER)
