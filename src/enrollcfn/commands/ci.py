"""`ci-workflow`: the application repository's GitHub Actions workflow, from the config and the
roles the deployed NAME-delivery stack outputs (rendered by enrollcfn.workflow)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from enrollcfn.commands.common import clients, command, load_config, stack_args
from enrollcfn.errors import EnrollcfnError


def register(sub) -> None:
    p = command(sub, "ci-workflow", cmd_ci_workflow, "write the application repository's GitHub Actions workflow (OIDC, no keys)")
    stack_args(p)
    p.add_argument("--out", type=Path, default=None, metavar="FILE", help="write it here, e.g. .github/workflows/deploy.yml (default: print it)")
    p.add_argument("--repo-config", default="enrollcfn.yaml", metavar="PATH",
                   help="where the config file lives in the application repository (release: deploy; default enrollcfn.yaml)")
    p.add_argument("--install", default=None, metavar="SPEC",
                   help="how the workflow installs enrollcfn (required with delivery.release: deploy): "
                   "git+https://HOST/OWNER/REPO@<40-hex commit>, or an enrollcfn wheel (an https URL, or a path in the "
                   "application repository) with --sha256")
    p.add_argument("--sha256", default=None, metavar="HEX", help="the wheel's sha256 (pip refuses any other bytes)")


def cmd_ci_workflow(args: argparse.Namespace) -> int:
    """Write the GitHub Actions workflow of the application repository (delivery.repository).

1. read and validate the config: delivery.enabled, a repository, a branch or an environment,
   no wildcards (nothing is asked of AWS before this passes)
2. read the role ARNs from the outputs of the deployed NAME-delivery stack (`enrollcfn deploy`
   creates it): DeliveryRoleArn, and PlanRoleArn with release: deploy
3. render the workflow: `permissions: id-token: write, contents: read`; on pushes to the branch,
   aws-actions/configure-aws-credentials assumes the delivery role, the image is built, pushed
   under a new tag and its digest printed; then the redeploy stack deploys it (release:
   redeploy, tag <redeploy_tag_prefix><sha>) or the job runs `enrollcfn deploy --yes` for tag
   ci-<sha> (release: deploy); pull requests build without pushing, and with release: deploy
   run `enrollcfn plan` under the plan role
4. print it, or write it to --out FILE (commit it in the application repository as
   delivery.workflow, default .github/workflows/deploy.yml: the roles trust only jobs of that file)"""
    from enrollcfn.stacks import delivery_stack_name, describe, output, output_map
    from enrollcfn.workflow import install_steps, render
    from enrollcfn.templates.delivery import DELIVERY_ROLE_ARN, PLAN_ROLE_ARN

    from enrollcfn.output import check_file, write_file

    cfg = load_config(args.config)
    if args.out is not None:
        check_file(args.out, "--out", "ci-workflow", given=(args.config,))  # before any AWS call
    if not cfg.delivery.enabled:
        raise EnrollcfnError("delivery.enabled", "is false: set delivery.enabled: true and delivery.repository, deploy, then run ci-workflow")
    install = install_steps(args.install, args.sha256) if cfg.delivery.release == "deploy" else None  # before any AWS call
    name = delivery_stack_name(args.stack)
    stack = describe(clients(args, cfg)("cloudformation"), name)
    if stack is None:
        raise EnrollcfnError(name, f"stack does not exist; `enrollcfn deploy --stack {args.stack}` creates it")
    values = output_map(stack)
    wanted = [DELIVERY_ROLE_ARN] + ([PLAN_ROLE_ARN] if cfg.delivery.release == "deploy" and cfg.delivery.plans else [])
    roles = {key: output(name, values, key) for key in wanted}
    text = render(cfg, args.stack, roles, install, args.repo_config)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    write_file(args.out, text, "--out", "ci-workflow", given=(args.config,))
    where = f" as {cfg.delivery.workflow}" if cfg.delivery.workflow else ""
    print(f"wrote {args.out}: commit it in {cfg.delivery.repository}{where}; it assumes {roles[DELIVERY_ROLE_ARN]}")
    return 0
