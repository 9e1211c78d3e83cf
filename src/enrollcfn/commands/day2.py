"""Day 2 on a deployed environment: status, logs, run, exec, rollback, drift. Each reads the
parsed arguments, calls one module of enrollcfn.operations, and prints what it returns."""

from __future__ import annotations

import argparse
import json
import subprocess

from enrollcfn.commands.common import before_change, command, emit, located, out, say, stack_args, timeout_arg, yes_arg
from enrollcfn.commands.stack import pipeline_command
from enrollcfn.errors import EnrollcfnError, Interrupted, UsageError
from enrollcfn.exits import EXIT_DEGRADED, EXIT_INTERRUPTED, EXIT_PENDING


def register(sub) -> None:
    p = command(sub, "status", cmd_status, "is it healthy? stacks, service, tasks, targets, alarms, database (exit 3 degraded)")
    stack_args(p, json_=True)

    p = command(sub, "logs", cmd_logs, "the service's (or the redeploy function's) CloudWatch logs")
    stack_args(p, json_=True)
    p.add_argument("--since", default="1h", metavar="AGE", help="how far back: 30s, 15m, 1h, 2d (default 1h)")
    p.add_argument("--follow", action="store_true", help="keep printing new events until Ctrl-C")
    p.add_argument("--filter", default=None, metavar="TEXT", help="only events containing TEXT (a literal, not a pattern)")
    p.add_argument("--task", default=None, metavar="ID", help="only the events of one task (its id, as `status` shows)")
    p.add_argument("--function", choices=["redeploy"], default=None, help="read the redeploy function's logs instead")

    p = command(sub, "run", cmd_run, "a one-off task from the service's task definition; exits with its exit code")
    stack_args(p, json_=True)
    p.add_argument("--detach", action="store_true", help="print the task id and return without waiting")
    p.add_argument("command", nargs="*", metavar="-- COMMAND", help="the command and its arguments, after --")

    p = command(sub, "exec", cmd_exec, "a shell or a command in a running task (ECS Exec)")
    stack_args(p, json_=True)
    p.add_argument("--task", default=None, metavar="ID", help="the task to enter (default: the first running one)")
    p.add_argument("command", nargs="*", metavar="-- COMMAND", help="what to run (default /bin/sh)")

    p = command(sub, "rollback", cmd_rollback, "back to the previous (or a named) image through a previewed change set")
    stack_args(p, from_build=True, json_=True)
    p.add_argument("--to", default=None, metavar="REVISION|DIGEST", help="a task definition revision number or an image digest (sha256:...)")
    yes_arg(p)
    p.add_argument("--allow-data-loss", action="store_true", help="as for deploy")
    timeout_arg(p, "give up after this long; the update is cancelled and rolled back (default 60)")

    p = command(sub, "drift", cmd_drift, "drift detection on every stack, per resource and property (exit 2 drifted)")
    stack_args(p, json_=True)


def _command_after_dashes(words: list[str]) -> list[str]:
    """The command after the `--` separator (argparse keeps it in REMAINDER); later `--` stay."""
    return words[1:] if words[:1] == ["--"] else list(words)


def cmd_status(args: argparse.Namespace) -> int:
    """One screen that answers "is it healthy?": every stack (root and nested) and its status, the
ECS service's deployments and rollout state, running/desired/pending tasks and the image digest
each task runs, target health behind the load balancer, alarms now in ALARM, the database status,
and the last stopped tasks with their stop reasons.

Exit 0 healthy, 3 degraded (each problem is listed), 1 error (for example no such stack)."""
    from enrollcfn.operations.status import StatusClients, render, status

    _, client, dep = located(args)
    report = status(StatusClients(*(client(s) for s in ("cloudformation", "ecs", "elbv2", "cloudwatch", "rds"))), dep)
    emit(args, report, render(report))
    return EXIT_DEGRADED if report["problems"] else 0


def cmd_logs(args: argparse.Namespace) -> int:
    """Print the service's CloudWatch log events, oldest first and newest last, each prefixed with
the task id it came from. --since limits how far back (default 1h), --filter keeps events that
contain TEXT, --task one task's events, --function redeploy reads the redeploy function's log
group instead, and --follow keeps polling for new events until Ctrl-C."""
    from enrollcfn.operations import logs

    cfg, client, dep = located(args)
    group = logs.log_group(client("cloudformation"), dep, args.function or "service")
    prefix = logs.task_stream(args.task, cfg.registry.repository_name)  # the container is named after the repository
    start, cw = logs.since_ms(args.since), client("logs")
    if args.follow:
        try:
            for event in logs.follow(cw, group, start, sleep=args.sleep, text=args.filter, stream=prefix):
                print(json.dumps(event, default=str) if args.json else logs.line(event), flush=True)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED  # following ends with Ctrl-C, as every interrupted command does (130)
    found = logs.events(cw, group, start, text=args.filter, stream=prefix)
    emit(args, found, "\n".join(logs.line(e) for e in found) or f"no events in {group} since {args.since}")
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
    _, client, dep = located(args)
    ecs, cw = client("ecs"), client("logs")
    started = run.start(ecs, dep, command)
    say(args, f"started task {started.task_id} ({' '.join(command)})")
    if args.detach:
        emit(args, {"task_id": started.task_id, "task_arn": started.task_arn}, started.task_id)
        return 0
    group = logs.log_group(client("cloudformation"), dep, "service")
    prefix, shown = logs.task_stream(started.task_id, started.container), set()

    def stream() -> None:
        for e in logs.events(cw, group, 0, stream=prefix):
            if e.get("eventId") not in shown:
                shown.add(e.get("eventId"))
                print(logs.line(e), file=out(args), flush=True)

    try:
        task = run.wait(ecs, started, stream, sleep=args.sleep)
    except KeyboardInterrupt:
        raise Interrupted(started.task_id, "stopped waiting; the task carries on. Stop it with "
                             f"`aws ecs stop-task --cluster {started.cluster} --task {started.task_id}`") from None
    code = run.exit_code(task, started.container)
    emit(args, {"task_id": started.task_id, "exit_code": code}, f"task {started.task_id} exited {code}")
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
    cfg, client, dep = located(args)
    command = _command_after_dashes(args.command)
    line = ecs_exec.argv(client("ecs"), dep, cfg.region, args.task, command, args.profile)
    if args.json:
        emit(args, {"argv": line}, "")
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

    cfg, client, dep = located(args)
    before_change(args, cfg, client, require="root")
    choice = rollback.choose(client("ecs"), client("ecr"), dep, args.to)
    say(args, f"rolling back to {choice.digest[:19]}, {choice.source}")
    return pipeline_command(args, execute=True, image_digest=choice.digest)


def cmd_drift(args: argparse.Namespace) -> int:
    """Detect drift on the root and every nested stack and print each drifted resource and
property (expected -> actual). Exit 0 nothing drifted, 2 drifted, 1 error."""
    from enrollcfn.operations import drift

    _, client, dep = located(args)
    results = drift.detect(client("cloudformation"), dep, sleep=args.sleep)
    emit(args, results, drift.render(results))
    return EXIT_PENDING if drift.drifted(results) else 0
