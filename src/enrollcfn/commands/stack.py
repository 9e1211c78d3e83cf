"""The commands that change an environment's stacks: plan, deploy, recover, destroy."""

from __future__ import annotations

import argparse
import dataclasses

from enrollcfn.commands.common import (before_change, build_for, clients, command, confirm_name, console, emit, load_config,
                                       stack_args, timeout_arg, yes_arg)
from enrollcfn.exits import EXIT_OK, EXIT_PENDING


def register(sub) -> None:
    p = command(sub, "bootstrap", cmd_bootstrap, "create what must exist before the first image: artifact bucket, ECR repository, boundary")
    stack_args(p, from_build=True, json_=True)
    p.add_argument("--image-tag", default=None, metavar="TAG", help="the release tag the printed push commands use (default release-1)")
    yes_arg(p)
    timeout_arg(p, "give up after this long (default 60)")

    p = command(sub, "plan", cmd_plan, "preview the changes a deploy would make (exit 2 when changes are pending)")
    stack_args(p, from_build=True, json_=True)
    image_arg(p)

    p = command(sub, "deploy", cmd_deploy, "deploy through change sets, with preview, data-loss guard and live progress")
    stack_args(p, from_build=True, json_=True)
    image_arg(p)
    yes_arg(p)
    p.add_argument("--allow-data-loss", action="store_true",
                   help="allow removing or replacing the database, a bucket, the repository, a secret or a log group")
    p.add_argument("--recreate-failed", action="store_true",
                   help="delete and re-create a stack whose first creation failed (ROLLBACK_COMPLETE)")
    timeout_arg(p, "give up after this long; an update is cancelled and rolled back (default 60)")

    p = command(sub, "recover", cmd_recover, "continue a rollback that failed (UPDATE_ROLLBACK_FAILED)")
    stack_args(p, json_=True)
    p.add_argument("--skip-resource", action="append", default=[], metavar="LOGICAL_ID",
                   help="a resource the rollback may leave as it is (repeatable; nested: StackName.LogicalId)")
    timeout_arg(p, "stop following after this long")

    p = command(sub, "destroy", cmd_destroy, "delete the root and bootstrap stacks; list what stays (retained buckets, repository, snapshot) with the commands to remove it")
    stack_args(p, json_=True)
    yes_arg(p, "do not ask for the stack name as confirmation")
    p.add_argument("--disable-termination-protection", action="store_true", help="turn termination protection off first")
    timeout_arg(p, "stop following after this long")


def image_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image-tag", default=None, metavar="TAG",
                   help="run this tag's image (by its digest); default: the digest the service runs now, else service.image_tag's")


def cmd_bootstrap(args: argparse.Namespace) -> int:
    """Create (or update) only NAME-bootstrap: the artifact bucket, the ECR repository and the
permissions boundary, which must exist before the first image can be pushed. Then print the
repository's URI and the commands that push a release to it under a tag of its own.

Before anything is created: the config is compiled and linted, the hosted zone is checked (it
exists, is public, and the registrar delegates to it), and the account and environment are
checked as for deploy. A repository an earlier `destroy` kept (with its images) is adopted into
the new stack by a CloudFormation import; one tagged for another environment is refused.
`deploy` runs this step too; on its own it makes the first deploy one that just works:

  enrollcfn bootstrap production
  (push the image under release-1)
  enrollcfn deploy production --image-tag release-1"""
    from enrollcfn import pipeline

    cfg, build, run = _prepared(args, execute=True)
    result = pipeline.bootstrap(run, cfg, build)
    if args.json:
        print(result.to_json(run.console))
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    """Preview what `deploy` would change, without changing anything.

Compiles and lints locally (or reads --build DIR), then creates change sets (nested stacks
included) for the bootstrap and root stacks, prints each as a tree (root -> nested stack ->
resource, with replacement, changed properties, parameter before/after, access and data-loss
markers) and deletes them. Templates are uploaded under content-hash keys so the change set can
read them. Exit 0: no changes. Exit 2: changes pending. Exit 1: error."""
    return pipeline_command(args, execute=False)


def cmd_deploy(args: argparse.Namespace) -> int:
    """Deploy through change sets, safely.

1. compile, validate and lint (or read --build DIR); no AWS call before these pass; then one line
   names the environment, account, region and stack, and the credentials of another account
   (enrollcfn.yaml) or a stack tagged with another environment stop it here (enrollcfn.guard)
2. the bootstrap stack NAME-bootstrap (artifact bucket, ECR repository), if it changed; with
   delivery.enabled the NAME-delivery stack (GitHub OIDC roles) too, and with delivery.release:
   deploy the root's change sets run as delivery.execution_role_name
3. upload every template under its content hash (unchanged content is not uploaded again)
4. read-only preflight: the image tag is in ECR, the hosted zone exists (every problem at once);
   a warning when a production environment's alarms notify no one (monitoring.alarm_email)
5. one change set on the root with nested stacks; preview; refuse data loss unless
   --allow-data-loss; ask (or --yes); execute and follow every nested stack's events and the
   ECS rollout; --timeout cancels an update
6. stack policies forbid replacing or deleting the database; termination protection on in
   production (production: true)

Ctrl-C at the question deletes the change set; Ctrl-C while it runs stops following only
(CloudFormation carries on) and prints how to follow or cancel. A failed first creation
(ROLLBACK_COMPLETE) needs --recreate-failed; UPDATE_ROLLBACK_FAILED needs `enrollcfn recover`.
A stack busy with another operation is waited for, never overlapped."""
    return pipeline_command(args, execute=True)


def _prepared(args: argparse.Namespace, execute: bool, image_digest: str | None = None):
    """(config, build, pipeline Run) for bootstrap, plan and deploy, once the environment, account
    and region are said and checked (before_change); nothing is created before that."""
    from enrollcfn import pipeline
    from enrollcfn.templates import CATALOG

    cfg, build = build_for(args, skip_lint=(CATALOG,))  # a deploy never sends the catalog stack
    client = clients(args, cfg)
    before_change(args, cfg, client)  # refuses another account or environment before the bootstrap stack
    opts = pipeline.Options(
        stack=args.stack, execute=execute, yes=getattr(args, "yes", False),
        allow_data_loss=getattr(args, "allow_data_loss", False), recreate_failed=getattr(args, "recreate_failed", False),
        timeout_minutes=getattr(args, "timeout", 60.0), as_json=args.json,
        image_tag=getattr(args, "image_tag", None), image_digest=image_digest, deploy_command=deploy_command(args),
    )
    return cfg, build, pipeline.Run(pipeline.Clients.of(client), opts, console(args), sleep=args.sleep)


def pipeline_command(args: argparse.Namespace, execute: bool, image_digest: str | None = None) -> int:
    from enrollcfn import pipeline
    from enrollcfn.templates import CATALOG

    cfg, build, run = _prepared(args, execute, image_digest)
    talk = run.console
    unprotected = pipeline.first_create(run, cfg) if execute and not getattr(args, "build", None) else None
    if unprotected is not None:
        # Deletion protection on during a first create would keep a failed create from rolling back
        # (CloudFormation cannot delete a protected database or load balancer): create without it,
        # then turn it on in an update once the stack is stable.
        talk.report(f"{args.stack}: first create with deletion protection off (database, load balancer); on once it is stable")
        pipeline.run(run, unprotected, build_for(args, skip_lint=(CATALOG,), cfg=unprotected)[1])
        run = dataclasses.replace(run, opts=dataclasses.replace(run.opts, yes=True))  # the follow-up changes only the protection
        talk.report(f"{args.stack}: turning deletion protection on (database, load balancer)")
    result = pipeline.run(run, cfg, build)
    if args.json:
        print(result.to_json(talk))
    elif result.outputs:
        emit(args, None, ["outputs:", *(f"  {key:<24} {value}" for key, value in sorted(result.outputs.items()))])
    return EXIT_PENDING if not execute and result.pending else EXIT_OK


def cmd_recover(args: argparse.Namespace) -> int:
    """Continue a rollback that stopped in UPDATE_ROLLBACK_FAILED, skipping the resources named
with --skip-resource (fix or remove them by hand first), and follow it to the end."""
    from enrollcfn import pipeline

    pipeline.recover(_stack_run(args), args.skip_resource)
    emit(args, {"stack": args.stack, "status": "UPDATE_ROLLBACK_COMPLETE", "skipped": args.skip_resource},
         f"{args.stack}: rollback completed; deploy again when ready")
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    """Delete the root stack with its nested stacks, then the NAME-bootstrap stack (only stacks
enrollcfn created), and list what stays on purpose, each with the command that removes it.

Steps: compile the config (no AWS call when it is bad); read both stacks; refuse up front, one line
per key, while database.deletion_protection or load_balancer.deletion_protection is on in the
config or in the deployed stacks (set it to false and deploy first), or when a deployed
DeletionPolicy differs from the config's; refuse while termination protection is on unless
--disable-termination-protection; ask for the stack name (or --yes); delete and follow each stack.
Kept: every resource the templates give DeletionPolicy Retain (the artifact and access-log
buckets, the ECR repository with its images, the application secret), the log groups RDS wrote,
with database.final_snapshot the database's final snapshot, and a NAME-catalog stack if publish
made one."""
    from enrollcfn import compiler, pipeline, teardown

    cfg = load_config(args.config)
    build = compiler.compile(cfg)
    deploy = deploy_command(args)
    client = clients(args, cfg)
    before_change(args, cfg, client, require="any")  # a stack that is not there is said first
    teardown.refuse([], build, deploy)  # protection the config itself turns on: before any change
    run = pipeline.Run(pipeline.Clients.of(client), pipeline.Options(stack=args.stack, timeout_minutes=args.timeout),
                       console(args), sleep=args.sleep)
    done = teardown.destroy(run, build, deploy, args.disable_termination_protection, confirm=lambda: confirm_name(args))
    emit(args, done.to_dict(), teardown.render(done))
    return 0


def deploy_command(args: argparse.Namespace) -> str:
    """The deploy command for this environment, as messages quote it."""
    env = getattr(args, "environment", None)
    if env is not None:
        return f"enrollcfn deploy {env.name}"
    return f"enrollcfn deploy --stack {args.stack}" + (f" --config {args.config}" if args.config else "")

def _stack_run(args: argparse.Namespace):
    from enrollcfn import pipeline

    cfg = load_config(args.config)
    client = clients(args, cfg)
    before_change(args, cfg, client, require="root")
    opts = pipeline.Options(stack=args.stack, timeout_minutes=args.timeout)
    return pipeline.Run(pipeline.Clients.of(client), opts, console(args), sleep=args.sleep)
