"""`make demo`: deploy the default config end to end against a local AWS (a moto server on
127.0.0.1), through the same code a real deploy uses.

It creates the hosted zone the config names (a real account already has it), runs `deploy` (which
stops at the preflight because no image has been pushed, printing the push commands), pushes a
stand-in image manifest, deploys again (preview, progress, outputs), tries a change that would replace the database
(refused), then runs `plan` to show that
nothing is left to change. Then day 2: `status`, a one-off `run -- php artisan migrate --force`
(the local AWS's stand-in task writes one log line and exits 0), a `plan` of a changed config
value with its property-level lines and cost difference, and a `rollback` after deploying a
second image. Then config/dev.yaml is deployed next to it in the same account and region, both
report healthy, dev is destroyed and the first is still healthy. Then it stops the server.

The local AWS is the one `enrollcfn local up` starts (enrollcfn.local.session): a separate
process that applies the moto patches itself, so this process calls it over HTTP only.

Where this machine has the local Fargate's tools (root, bubblewrap, mmdebstrap, MariaDB), the
deployed task definitions are then run by it from the stand-in of the seed image against MariaDB
with TLS required: the database-user task, the migrations, and the service's task until the
deployed target group's health check passes.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from cfn_flip import load_yaml

from enrollcfn.local import database, fargate, session, standin
from enrollcfn.local import server as localaws
from enrollcfn.templates.cluster import CLUSTER_NAME
from enrollcfn.templates.service import SERVICE_NAME

STACK = "se-demo"
DEV_STACK = "se-demo-dev"


def main() -> int:
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="enrollcfn-demo-"))
        # The local AWS as `enrollcfn local up` starts it (a detached, patched moto server whose
        # notes go to its log), in a state directory of the demo's own, never the user's running
        # one; stopped when the demo ends. It creates the hosted zone the config names (a real
        # account already has it) and writes the config with the zone's id.
        local = stack.enter_context(session.running(Path(tmp) / "local", report=print))
        os.environ.update(local.environment())
        from enrollcfn.cli import main as enrollcfn
        from enrollcfn.config import Config

        cfg = Config()
        config = Path(tmp) / "demo.yaml"
        config.write_text(f"dns:\n  hosted_zone_id: {local.hosted_zone_id}\n")
        step(f"local AWS at {local.endpoint} (its log: {local.state_dir / session.LOG_FILE}); "
             f"hosted zone {cfg.dns.zone_name} created; config {config}")
        missing = [*fargate.missing(), *database.missing(), *standin.missing_tools()]
        db = None
        if not missing:
            # MariaDB with TLS required stands in for RDS; its CA is served where the init container
            # fetches the RDS bundle from (the config's service.init.ca_bundle_url).
            db = stack.enter_context(database.running())
            url = stack.enter_context(database.serving_ca(db))
            config.write_text(config.read_text() + f"service:\n  init:\n    ca_bundle_url: {url}\n")

        step("deploy (no image pushed yet: the preflight stops before the root stack)")
        code = enrollcfn(["deploy", "--stack", STACK, "--config", str(config), "--yes"])
        print(f"exit {code}")

        step(f"push {cfg.registry.repository_name}:{cfg.service.image_tag} (a stand-in manifest)")
        push(cfg, cfg.service.image_tag, "first image")
        step("deploy")
        code = enrollcfn(["deploy", "--stack", STACK, "--config", str(config), "--yes"])
        print(f"exit {code}")
        if code:
            return code

        step("deploy a change that would replace the database (database.name): refused, nothing changes")
        risky = Path(tmp) / "rename-db.yaml"
        risky.write_text(config.read_text() + "database:\n  name: renamed\n")
        print(f"exit {enrollcfn(['deploy', '--stack', STACK, '--config', str(risky), '--yes'])}")

        step("plan (nothing should be left to change)")
        code = enrollcfn(["plan", "--stack", STACK, "--config", str(config)])
        print(f"exit {code}")
        if code:
            return code
        code = serve(cfg, db, Path(tmp), missing)
        if code:
            return code
        code = day2(enrollcfn, cfg, config, Path(tmp))
        return code or side_by_side(enrollcfn, config, Path(tmp))


def side_by_side(enrollcfn, config: Path, tmp: Path) -> int:
    """config/dev.yaml next to the default in the same account and region, then dev torn down."""
    import yaml

    from enrollcfn.config.loading import load

    example = Path("config/dev.yaml")  # the checkout's, where `make demo` runs
    if not example.is_file():
        print("skipped: config/dev.yaml is not in the working directory")
        return 0
    data = yaml.safe_load(example.read_text())
    data.setdefault("dns", {}).update(yaml.safe_load(config.read_text())["dns"])  # the local hosted zone
    dev = tmp / "dev.yaml"
    dev.write_text(yaml.safe_dump(data))
    step(f"config/dev.yaml as {DEV_STACK}, next to {STACK} in the same account and region")
    enrollcfn(["deploy", "--stack", DEV_STACK, "--config", str(dev), "--yes"])  # its own repository, then the preflight
    dev_cfg = load(dev)
    push(dev_cfg, dev_cfg.service.image_tag, "dev image")
    if enrollcfn(["deploy", "--stack", DEV_STACK, "--config", str(dev), "--yes"]):
        return 1
    step("status of both")
    codes = [enrollcfn(["status", "--stack", s, "--config", str(c)]) for s, c in ((STACK, config), (DEV_STACK, dev))]
    step(f"destroy {DEV_STACK}; {STACK} is untouched")
    codes.append(enrollcfn(["destroy", "--stack", DEV_STACK, "--config", str(dev), "--yes", "--disable-termination-protection"]))
    codes.append(enrollcfn(["status", "--stack", STACK, "--config", str(config)]))
    print(f"exit {max(codes)}")
    return max(codes)


def day2(enrollcfn, cfg, config: Path, tmp: Path) -> int:
    """status, a one-off migration task, a property-level plan and a rollback."""
    step("status")
    print(f"exit {enrollcfn(['status', '--stack', STACK, '--config', str(config)])}")

    step("run -- php artisan migrate --force (a one-off task in the service's subnets)")
    code = enrollcfn(["run", "--stack", STACK, "--config", str(config), "--", "php", "artisan", "migrate", "--force"])
    print(f"exit {code}")

    step("plan a changed config value (load_balancer.idle_timeout_seconds: 120): property-level lines")
    longer = tmp / "idle-timeout.yaml"
    longer.write_text(config.read_text() + "load_balancer:\n  idle_timeout_seconds: 120\n")
    print(f"exit {enrollcfn(['plan', '--stack', STACK, '--config', str(longer)])}")

    step(f"push {cfg.registry.repository_name}:release-2 and deploy it (--image-tag release-2: by its digest)")
    push(cfg, "release-2", "second image")
    if enrollcfn(["deploy", "--stack", STACK, "--config", str(config), "--image-tag", "release-2", "--yes"]):
        return 1
    step("rollback (to the previous image's digest, through a change set)")
    code = enrollcfn(["rollback", "--stack", STACK, "--config", str(config), "--yes"])
    print(f"exit {code}")
    return code


def serve(cfg, db, tmp: Path, missing: list[str]) -> int:
    """The deployed task definitions, as the local AWS holds them, run by the local Fargate from the
    stand-in of the seed image: the database-user task, the migrations, then the service's task
    until the deployed target group's health check passes; a page and an API call answered."""
    step("the local Fargate runs the deployed task definitions from the stand-in of the seed image")
    if missing:
        print(f"skipped: the local Fargate needs {', '.join(dict.fromkeys(missing))}")
        return 0
    image = standin.build("seed")
    ecs, cfn, sm = (boto3.client(x, region_name=localaws.REGION) for x in ("ecs", "cloudformation", "secretsmanager"))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]}
    # The local AWS holds no RDS-managed master secret (only an ARN, `rds!db-...`): the local
    # database's master answers for it, as RDS's secret holds the master user it created.
    master = json.dumps({"username": db.username, "password": db.password})
    [service] = ecs.describe_services(cluster=outputs[CLUSTER_NAME], services=[outputs[SERVICE_NAME]])["services"]
    families = {"service": service["taskDefinition"], "database user": f"{cfg.service.name}-dbuser"}
    taskdefs = {k: _local(ecs.describe_task_definition(taskDefinition=v)["taskDefinition"], db) for k, v in families.items()}
    read = lambda arn: master if ":secret:rds!db-" in arn else sm.get_secret_value(SecretId=_current(sm, arn))["SecretString"]  # noqa: E731
    container = cfg.registry.repository_name
    for label, taskdef, overrides in (("database user", taskdefs["database user"], {}),
                                      ("migrations", taskdefs["service"], {container: list(cfg.service.migrate_command)})):
        with fargate.Task(taskdef, image, tmp, secrets=read, overrides=overrides) as task:
            task.wait(180)
        print(f"{label}: exit codes {task.exit_codes()}; {task.log_text().splitlines()[-1] if task.log_text() else ''}")
        if any(code not in (0, None) for code in task.exit_codes().values()):
            print(task.log_text()[-2000:])
            return 1
    # the deployed load balancer stack's target group, as CloudFormation holds it
    balancer = cfn.describe_stack_resource(StackName=STACK, LogicalResourceId="LoadBalancerStack")["StackResourceDetail"]["PhysicalResourceId"]
    held = load_yaml(cfn.get_template(StackName=balancer)["TemplateBody"])
    group = held["Resources"]["TargetGroup"]["Properties"]  # the one the service registers in (a progressive release adds a second)
    check = fargate.HealthCheck.of(group)
    print(f"the deployed target group: {check.path} must answer {check.matcher}, {check.healthy} times in a row (intervals scaled to 1/20)")
    with fargate.Task(taskdefs["service"], image, tmp, secrets=read) as task:
        started = time.monotonic()
        probes = task.wait_healthy(check, scale=0.05, limit=200)
        print(f"health checks: {probes} -> {task.last_status} after {time.monotonic() - started:.1f} s")
        if task.last_status != "RUNNING":
            print(f"stopped: {task.stopped_reason}\n{task.log_text()[-2000:]}")
            return 1
        for path in ("/", "/api/students"):
            with urllib.request.urlopen(f"http://127.0.0.1:{task.port()}{path}", timeout=10) as answer:
                print(f"GET {path}: {answer.status} {answer.read().decode()[:160].replace(chr(10), ' ')}")
    print("its awslogs stream (last lines):")
    for line in task.log_text(container).splitlines()[-4:]:
        print(f"  {line}")
    return 0


def _current(sm, arn: str) -> str:
    """`arn`, or the secret of the same logical id the local AWS holds now: moto replaces a nested
    stack's resources when the stack is updated (the update that turned deletion protection on),
    so a secret's ARN another stack was given may be gone. Real CloudFormation keeps it."""
    names = [s["ARN"] for s in sm.list_secrets()["SecretList"]]
    if arn in names:
        return arn
    logical = arn.split(":secret:", 1)[1].rsplit("-", 2)[0].split("-")[-1]
    return next((n for n in names if f"-{logical}-" in n), arn)


def _local(taskdef: dict, db) -> dict:
    """`taskdef` with the local database in place of the RDS endpoint (the local AWS's address
    resolves nowhere): DB_HOST and DB_PORT, and nothing else, changed."""
    local = {"DB_HOST": db.host, "DB_PORT": str(db.port)}
    containers = [{**c, "environment": [{**e, "value": local.get(e["name"], e["value"])} for e in c.get("environment", [])]}
                  for c in taskdef["containerDefinitions"]]
    return {**taskdef, "containerDefinitions": containers}


def push(cfg, tag: str, label: str) -> None:
    """A stand-in image manifest (distinct per label) under `tag`."""
    localaws.push_image(boto3.client("ecr", region_name=localaws.REGION), cfg.registry.repository_name, tag, label)


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
