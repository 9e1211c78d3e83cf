"""Day-2 commands end to end against the local AWS over HTTP: status, logs, run (the container's
exit code becomes the command's), rollback through a change set, and the template-diff plan."""

from __future__ import annotations

import contextlib
import io
import json

import boto3
import pytest

from enrollcfn.cli import main
from enrollcfn.config import Config
from enrollcfn.local import server as localaws

STACK = "se-ops"
@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    """A deployed stack on a fresh local AWS."""
    with localaws.server() as endpoint, pytest.MonkeyPatch.context() as mp:
        for key, value in localaws.environment(endpoint).items():
            mp.setenv(key, value)
        cfg = Config()
        zone = boto3.client("route53").create_hosted_zone(Name=cfg.dns.zone_name, CallerReference="ops")["HostedZone"]["Id"]

        def config(extra: str = "") -> str:
            path = tmp_path_factory.mktemp("cfg") / "config.yaml"
            path.write_text(f"dns:\n  hosted_zone_id: {zone.rsplit('/', 1)[-1]}\n{extra}")
            return str(path)

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(["deploy", "--stack", STACK, "--config", config(), "--yes"])  # creates the repository, stops at the preflight
            push(cfg, "latest", "first")
            assert main(["deploy", "--stack", STACK, "--config", config(), "--yes"]) == 0
        yield {"cfg": cfg, "config": config}


def push(cfg: Config, tag: str, label: str) -> str:
    """Push a stand-in manifest (distinct per label) under `tag`; its digest."""
    return localaws.push_image(boto3.client("ecr"), cfg.registry.repository_name, tag, label)


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv), sleep=lambda seconds: None)  # the local AWS answers at once: no waiting between polls
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", [["status"], ["logs"], ["run", "--", "true"], ["rollback", "--yes"], ["drift"]])
def test_every_day2_command_on_a_missing_stack_is_one_line_and_exit_1(aws, capsys, command):
    code, out, err = cli(capsys, command[0], "--stack", "no-such-stack", "--config", aws["config"](), *command[1:])
    assert code == 1
    assert err.strip().splitlines() == ["error: no-such-stack: no such stack in region ap-southeast-2; check --stack, the config's region "
                                        "and the credentials (no enrollcfn.yaml names the environments here)"]


def test_status_of_a_settled_stack_is_healthy(aws, capsys):
    code, out, err = cli(capsys, "status", "--stack", STACK, "--config", aws["config"](), "--json")
    report = json.loads(out)
    assert code == 0, report["problems"]
    names = {s["logical_id"] for s in report["stacks"]}
    assert {"", "NetworkStack", "DatabaseStack", "ServiceStack", "MonitoringStack"} <= names
    assert all(s["status"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE") for s in report["stacks"])  # the protecting update follows the create
    assert report["service"]["name"] == "student-enrollment-production"  # the seed's service name
    assert report["database"]["status"] == "available"


def test_status_is_degraded_exit_3_while_the_database_is_stopped(aws, capsys):
    rds = boto3.client("rds")
    [db] = rds.describe_db_instances()["DBInstances"]
    rds.stop_db_instance(DBInstanceIdentifier=db["DBInstanceIdentifier"])
    try:
        code, out, err = cli(capsys, "status", "--stack", STACK, "--config", aws["config"]())
    finally:
        rds.start_db_instance(DBInstanceIdentifier=db["DBInstanceIdentifier"])
    assert code == 3
    assert out.splitlines()[0] == f"{STACK}: DEGRADED"
    assert f"problem: database {db['DBInstanceIdentifier']} is stopped" in out


def test_run_streams_the_task_log_and_exits_with_the_container_exit_code(aws, capsys):
    code, out, err = cli(capsys, "run", "--stack", STACK, "--config", aws["config"](), "--", "sh", "-c", "exit 3")
    assert code == 3
    assert "local AWS ran: sh -c exit 3" in out and out.rstrip().endswith("exited 3")
    code, out, err = cli(capsys, "run", "--stack", STACK, "--config", aws["config"](), "--", "php", "artisan", "migrate", "--force")
    assert code == 0 and "local AWS ran: php artisan migrate --force" in out


def test_run_uses_the_service_network_and_detach_returns_the_task_id(aws, capsys):
    sent = []

    def clients(service: str):
        client = boto3.client(service)
        client.meta.events.register("provide-client-params.ecs.RunTask", lambda params, **_: sent.append(params))
        return client

    argv = ["run", "--stack", STACK, "--config", aws["config"](), "--detach", "--json", "--", "php", "artisan", "about"]
    code = main(argv, client_factory=clients)
    out, err = capsys.readouterr()
    assert code == 0
    task_id = json.loads(out)["task_id"]
    [service] = boto3.client("ecs").describe_services(cluster="student-enrollment-production", services=["student-enrollment-production"])["services"]
    [params] = sent
    assert params["networkConfiguration"] == service["networkConfiguration"]  # the service's subnets and security group
    assert params["launchType"] == "FARGATE" and params["taskDefinition"] == service["taskDefinition"]
    [task] = boto3.client("ecs").describe_tasks(cluster="student-enrollment-production", tasks=[task_id])["tasks"]
    assert task["overrides"]["containerOverrides"][0]["command"] == ["php", "artisan", "about"]


def test_logs_of_one_task_and_filtered(aws, capsys):
    code, out, err = cli(capsys, "run", "--stack", STACK, "--config", aws["config"](), "--", "php", "artisan", "queue:restart")
    task_id = out.split()[2]
    code, out, err = cli(capsys, "logs", "--stack", STACK, "--config", aws["config"](), "--task", task_id)
    assert code == 0
    assert out.strip().splitlines() == [out.strip().splitlines()[0]] and f"[{task_id[:8]}] local AWS ran: php artisan queue:restart" in out
    code, out, err = cli(capsys, "logs", "--stack", STACK, "--config", aws["config"](), "--filter", "queue:restart", "--since", "10m")
    assert code == 0 and "queue:restart" in out and "migrate" not in out


def test_logs_rejects_a_bad_since(aws, capsys):
    code, out, err = cli(capsys, "logs", "--stack", STACK, "--config", aws["config"](), "--since", "yesterday")
    assert code == 64 and err.startswith("error: --since: 'yesterday' is not a duration")  # a usage error


def _parameters(cfn) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Parameters"]}


def _running_image(cfg) -> str:
    ecs = boto3.client("ecs")
    [service] = ecs.describe_services(cluster="student-enrollment-production", services=["student-enrollment-production"])["services"]
    return ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]["containerDefinitions"][0]["image"]


def test_rollback_returns_to_the_previous_digest_through_a_change_set(aws, capsys):
    cfg, cfn = aws["cfg"], boto3.client("cloudformation")
    first = _parameters(cfn)["ImageDigest"]
    second = push(cfg, "v2", "second")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["deploy", "--stack", STACK, "--config", aws["config"](), "--image-tag", "v2", "--yes"]) == 0
    assert _parameters(cfn)["ImageDigest"] == second and _running_image(cfg).endswith(f"@{second}")
    code, out, err = cli(capsys, "rollback", "--stack", STACK, "--config", aws["config"](), "--yes")
    assert code == 0, err
    assert f"rolling back to {first[:19]}" in out and "ImageDigest" in out  # the preview names the parameter
    assert _parameters(cfn)["ImageDigest"] == first
    assert _running_image(cfg).endswith(f"/{cfg.registry.repository_name}@{first}")


def test_rollback_to_a_named_digest_and_a_bad_one_is_one_line(aws, capsys):
    cfg, cfn = aws["cfg"], boto3.client("cloudformation")
    third = push(cfg, "v3", "third")
    code, out, err = cli(capsys, "rollback", "--stack", STACK, "--config", aws["config"](), "--to", third, "--yes")
    assert code == 0, err
    assert _parameters(cfn)["ImageDigest"] == third
    code, out, err = cli(capsys, "rollback", "--stack", STACK, "--config", aws["config"](), "--to", "sha256:nothex", "--yes")
    assert code == 64 and err.strip().splitlines() == [
        "error: --to: 'sha256:nothex' is neither a task definition revision number nor an image digest (sha256:<64 hex>)"]


def test_rollback_to_a_revision_runs_that_revisions_image(aws, capsys):
    cfn = boto3.client("cloudformation")
    first_revision = boto3.client("ecs").describe_task_definition(taskDefinition="student-enrollment-production:1")
    first = first_revision["taskDefinition"]["containerDefinitions"][0]["image"].rsplit("@", 1)[-1]
    code, out, err = cli(capsys, "rollback", "--stack", STACK, "--config", aws["config"](), "--to", "1", "--yes")
    assert code == 0, err
    assert "task definition student-enrollment-production:1" in out
    assert _parameters(cfn)["ImageDigest"] == first  # revision 1 is the first deploy's image


def _released_by_push(cfg, tag: str, label: str, monkeypatch) -> str:
    """Push `tag` and deliver its ECR event to the redeploy function, run here against the local
    AWS as Lambda would run it; the pushed digest."""
    from tests.conftest import load_function

    digest = push(cfg, tag, label)
    function = load_function("redeploy", "redeploy_e2e")
    root = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["StackId"]
    variables = boto3.client("lambda").list_functions()["Functions"]
    [env] = [f["Environment"]["Variables"] for f in variables if "ROOT_STACK" in f.get("Environment", {}).get("Variables", {})]
    for key, value in {**env, "ROOT_STACK": root}.items():  # as the deployed function has them
        monkeypatch.setenv(key, value)
    event = {"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": {
        "action-type": "PUSH", "result": "SUCCESS", "repository-name": cfg.registry.repository_name, "image-tag": tag, "image-digest": digest}}
    with contextlib.redirect_stdout(io.StringIO()):
        assert function.handler(event, None)["released"] is True
    return digest


def test_a_pushed_release_is_cloudformations_and_rollback_undoes_it(aws, capsys, monkeypatch):
    """Deploy D1, release D2 by a push of a release tag, then roll back: CloudFormation holds D2
    after the push (so a later failed update rolls back to D2, and plan has nothing pending), and
    rollback leaves the service on D1 with CloudFormation's parameter D1."""
    cfg, cfn = aws["cfg"], boto3.client("cloudformation")
    d1 = _parameters(cfn)["ImageDigest"]
    d2 = _released_by_push(cfg, "release-2", "pushed release", monkeypatch)
    assert _parameters(cfn)["ImageDigest"] == d2 and _running_image(cfg).endswith(f"@{d2}")
    code, out, err = cli(capsys, "plan", "--stack", STACK, "--config", aws["config"]())
    assert code == 0, out + err  # nothing pending: the deploy would pass the digest CloudFormation holds
    code, out, err = cli(capsys, "rollback", "--stack", STACK, "--config", aws["config"](), "--yes")
    assert code == 0, err
    assert _parameters(cfn)["ImageDigest"] == d1 and _running_image(cfg).endswith(f"@{d1}")


def test_logs_of_the_redeploy_function_read_its_own_group(aws, capsys):
    code, out, err = cli(capsys, "logs", "--stack", STACK, "--config", aws["config"](), "--function", "redeploy")
    assert code == 0
    assert out.startswith("no events in ") and "RedeployStack" in out and "since 1h" in out


def test_plan_shows_property_changes_computed_from_templates_and_the_cost_difference(aws, capsys):
    changed = aws["config"]("load_balancer:\n  idle_timeout_seconds: 120\nservice:\n  max_tasks: 30\n")
    code, out, err = cli(capsys, "plan", "--stack", STACK, "--config", changed)
    assert code == 2
    assert "changes (computed from templates)" in out
    # the ALB attribute the config feeds (idle_timeout.timeout_seconds, ELBv2 load balancer attributes)
    line = next(x for x in out.splitlines() if "LoadBalancerStack/LoadBalancer.Properties.LoadBalancerAttributes" in x)
    assert line.strip().endswith(": 60 -> 120")
    assert "~ ServiceStack/ScalableTarget.Properties.MaxCapacity: 20 -> 30" in out
    code, out, err = cli(capsys, "plan", "--stack", STACK, "--config", changed, "--json")
    computed = json.loads(out)["computed_from_templates"]
    assert computed["monthly_cost"]["difference"] == round(computed["monthly_cost"]["after"] - computed["monthly_cost"]["before"], 2)


def test_plan_of_a_priced_change_shows_its_monthly_cost_difference(aws, capsys):
    bigger = aws["config"]("database:\n  allocated_storage_gb: 40\n")  # 20 more GB of gp3 storage
    code, out, err = cli(capsys, "plan", "--stack", STACK, "--config", bigger, "--json")
    computed = json.loads(out)["computed_from_templates"]
    assert "~ DatabaseStack/Database.Properties.AllocatedStorage: 20 -> 40" in computed["changes"]
    assert computed["monthly_cost"]["difference"] > 0


def test_follow_yields_each_event_once_and_stops_at_ctrl_c(aws):
    from enrollcfn.operations import locate, logs

    dep = locate(boto3.client("cloudformation"), STACK)
    group = logs.log_group(boto3.client("cloudformation"), dep, "service")
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        if len(polls) == 2:
            raise KeyboardInterrupt

    seen = []
    with pytest.raises(KeyboardInterrupt):
        for event in logs.follow(boto3.client("logs"), group, 0, sleep=sleep):
            seen.append(event["eventId"])
    assert seen and len(seen) == len(set(seen))  # the second poll found the same events and showed none again
    assert polls == [logs.FOLLOW_POLL, logs.FOLLOW_POLL]
