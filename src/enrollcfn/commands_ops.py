"""The day-2 commands (status, logs, run, exec, rollback, drift): read the parsed arguments, call
one module of enrollcfn.operations, print what it returns. commands.py holds the others.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from enrollcfn.commands import _clients, _pipeline, load_config
from enrollcfn.errors import EnrollcfnError, Interrupted, UsageError
from enrollcfn.exits import EXIT_DEGRADED, EXIT_INTERRUPTED, EXIT_PENDING



def _located(args: argparse.Namespace):
    """(config, client factory, Deployed) for a command on an existing stack."""
    from enrollcfn.guard import missing
    from enrollcfn.operations import NoSuchStack, locate

    cfg = load_config(args.config)
    client = _clients(args, cfg)
    try:
        return cfg, client, locate(client("cloudformation"), args.stack)
    except NoSuchStack:
        raise missing(args, args.stack, cfg.region) from None


def _command_after_dashes(words: list[str]) -> list[str]:
    """The command after the `--` separator (argparse keeps it in REMAINDER); later `--` stay."""
    return words[1:] if words[:1] == ["--"] else list(words)


def _emit(args: argparse.Namespace, data, text: str) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str) if args.json else text, flush=True)


def cmd_status(args: argparse.Namespace) -> int:
    """One screen that answers "is it healthy?": every stack (root and nested) and its status, the
ECS service's deployments and rollout state, running/desired/pending tasks and the image digest
each task runs, target health behind the load balancer, alarms now in ALARM, the database status,
and the last stopped tasks with their stop reasons.

Exit 0 healthy, 3 degraded (each problem is listed), 1 error (for example no such stack)."""
    from enrollcfn.operations.status import StatusClients, render, status

    _, client, dep = _located(args)
    report = status(StatusClients(*(client(s) for s in ("cloudformation", "ecs", "elbv2", "cloudwatch", "rds"))), dep)
    _emit(args, report, render(report))
    return EXIT_DEGRADED if report["problems"] else 0


def cmd_logs(args: argparse.Namespace) -> int:
    """Print the service's CloudWatch log events, oldest first and newest last, each prefixed with
the task id it came from. --since limits how far back (default 1h), --filter keeps events that
contain TEXT, --task one task's events, --function redeploy reads the redeploy function's log
group instead, and --follow keeps polling for new events until Ctrl-C."""
    from enrollcfn.operations import logs

    cfg, client, dep = _located(args)
    group = logs.log_group(client("cloudformation"), dep, args.function or "service")
    prefix = logs.task_stream(args.task, cfg.registry.repository_name)  # the container is named after the repository
    start, cw = logs.since_ms(args.since), client("logs")
    if args.follow:
        try:
            for event in logs.follow(cw, group, start, text=args.filter, stream=prefix):
                print(json.dumps(event) if args.json else logs.line(event), flush=True)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED  # following ends with Ctrl-C, as every interrupted command does (130)
    found = logs.events(cw, group, start, text=args.filter, stream=prefix)
    _emit(args, found, "\n".join(logs.line(e) for e in found) or f"no events in {group} since {args.since}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run COMMAND once in a new task from the service's current task definition, in its subnets
with its security group, and exit with the container's exit code (its logs stream meanwhile).
--detach prints the task id and returns at once. Example:

  enrollcfn run --stack se-prod -- php artisan migrate --force"""
    from enrollcfn.operations import logs, run

    command = _command_after_dashes(args.command)
    if not command:
        raise UsageError("run", "name the command after --, for example: enrollcfn run --stack NAME -- php artisan migrate --force")
    _, client, dep = _located(args)
    ecs, cw = client("ecs"), client("logs")
    started = run.start(ecs, dep, command)
    out = sys.stderr if args.json else sys.stdout
    print(f"started task {started.task_id} ({' '.join(command)})", file=out, flush=True)
    if args.detach:
        _emit(args, {"task_id": started.task_id, "task_arn": started.task_arn}, started.task_id)
        return 0
    group = logs.log_group(client("cloudformation"), dep, "service")
    prefix, shown = logs.task_stream(started.task_id, started.container), set()

    def stream() -> None:
        for e in logs.events(cw, group, 0, stream=prefix):
            if e.get("eventId") not in shown:
                shown.add(e.get("eventId"))
                print(logs.line(e), file=out, flush=True)

    try:
        task = run.wait(ecs, started, stream, sleep=args.sleep)
    except KeyboardInterrupt:
        raise Interrupted(started.task_id, "stopped waiting; the task carries on. Stop it with "
                             f"`aws ecs stop-task --cluster {started.cluster} --task {started.task_id}`") from None
    code = run.exit_code(task, started.container)
    _emit(args, {"task_id": started.task_id, "exit_code": code}, f"task {started.task_id} exited {code}")
    return code


def cmd_exec(args: argparse.Namespace) -> int:
    """Open a shell (or run COMMAND) in a running task of the service with ECS Exec, through
`aws ecs execute-command`. Needs the AWS CLI v2 and the Session Manager plugin on PATH, and
service.exec_enabled: true in the config (on in config/dev.yaml, off by default in production).
--json prints the command line as JSON instead of running it."""
    from enrollcfn.operations import exec as ecs_exec

    missing = ecs_exec.missing_tools()
    if missing:
        raise EnrollcfnError("exec", f"{' and '.join(missing)} not found on PATH: {ecs_exec.INSTALL}")
    cfg, client, dep = _located(args)
    command = _command_after_dashes(args.command)
    line = ecs_exec.argv(client("ecs"), dep, cfg.region, args.task, command, args.profile)
    if args.json:
        _emit(args, {"argv": line}, "")
        return 0
    return subprocess.call(line)


def cmd_rollback(args: argparse.Namespace) -> int:
    """Return the service to the previous image (or the one --to names: a task definition revision
number, or an image digest sha256:...) through a change set on the root stack, with the same
preview, data-loss guard and confirmation as deploy; CloudFormation and the running service stay
in step. Use the config the stack was deployed with: the change set carries it too.

The service runs images by digest (the root Parameter ImageDigest), so any image still in the
repository can be returned to, tagged or not."""
    from enrollcfn.operations import rollback

    cfg, client, dep = _located(args)
    from enrollcfn.commands import _before_change

    _before_change(args, cfg, client, require="root")
    choice = rollback.choose(client("ecs"), client("ecr"), dep, args.to)
    print(f"rolling back to {choice.digest[:19]}, {choice.source}", file=sys.stderr if args.json else sys.stdout, flush=True)
    return _pipeline(args, execute=True, image_digest=choice.digest)


def cmd_drift(args: argparse.Namespace) -> int:
    """Detect drift on the root and every nested stack and print each drifted resource and
property (expected -> actual). Exit 0 nothing drifted, 2 drifted, 1 error."""
    from enrollcfn.operations import drift

    _, client, dep = _located(args)
    results = drift.detect(client("cloudformation"), dep)
    _emit(args, results, drift.render(results))
    return EXIT_PENDING if drift.drifted(results) else 0
