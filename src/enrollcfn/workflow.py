"""The GitHub Actions workflow of the application repository, from the config and the roles the
deployed NAME-delivery stack outputs (read back, never rebuilt by hand: the ARN carries the
account and the name CloudFormation holds).

Every run takes a short-lived token (`permissions: id-token: write`) and assumes a role of the
delivery stack with aws-actions/configure-aws-credentials. On pushes to `delivery.branch` the image
is built and pushed under a new tag (ECR tags are immutable) and its digest printed; then either
the redeploy stack deploys the push (`delivery.release: redeploy`, tag `<redeploy_tag_prefix><sha>`)
or the job runs `enrollcfn deploy --yes` for that tag (release: deploy, tag `ci-<sha>`). Pull
requests build the image without pushing, and with release: deploy run `enrollcfn plan` under the
plan role. Actions are pinned to their major versions.
"""

from __future__ import annotations

import yaml

from enrollcfn.config import Config
from enrollcfn.config.delivery import CI_TAG_PREFIX
from enrollcfn.exits import EXIT_PENDING
from enrollcfn.templates.delivery import DELIVERY_ROLE_ARN, PLAN_ROLE_ARN

CHECKOUT = "actions/checkout@v4"
CREDENTIALS = "aws-actions/configure-aws-credentials@v4"
ECR_LOGIN = "aws-actions/amazon-ecr-login@v2"
SETUP_PYTHON = "actions/setup-python@v5"


def tag_expression(cfg: Config) -> str:
    """The tag each push gets: the commit, after the prefix that decides who deploys it."""
    prefix = CI_TAG_PREFIX if cfg.delivery.release == "deploy" else cfg.registry.redeploy_tag_prefix
    return prefix + "${{ github.sha }}"


def render(cfg: Config, stack: str, roles: dict[str, str], install: str, config_path: str) -> str:
    """The workflow YAML for root stack `stack`; `roles` are the delivery stack's outputs,
    `install` what pip installs to get enrollcfn, `config_path` the config in the app repository."""
    d = cfg.delivery
    deploys = d.release == "deploy"
    tool = {"install": install, "config": config_path, "stack": stack}
    jobs = {"release": _release_job(cfg, roles[DELIVERY_ROLE_ARN], tool if deploys else None)}
    if deploys and d.plans:
        jobs["plan"] = _plan_job(cfg, roles[PLAN_ROLE_ARN], tool)
    else:
        jobs["build"] = _build_job(cfg)
    doc = {
        "name": f"{cfg.project} {cfg.environment}",
        "on": {"push": {"branches": [d.branch or "main"]}, "pull_request": {"branches": [d.branch or "main"]}},
        # The token GitHub's OIDC provider issues, and read access to the code: nothing more.
        "permissions": {"id-token": "write", "contents": "read"},
        # One release of this environment at a time, never cancelled half way.
        "concurrency": {"group": f"{cfg.project}-{cfg.environment}", "cancel-in-progress": False},
        "env": {"AWS_REGION": cfg.region, "ECR_REPOSITORY": cfg.registry.repository_name, "IMAGE_TAG": tag_expression(cfg)},
        "jobs": jobs,
    }
    head = (f"# Written by `enrollcfn ci-workflow --stack {stack}`: GitHub Actions assumes roles of the\n"
            f"# {stack}-delivery stack through OpenID Connect; no AWS keys are stored in GitHub.\n")
    return head + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120)


class _Dumper(yaml.SafeDumper):
    """Multi-line shell scripts as literal blocks, as a person would write them."""


_Dumper.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v else None))


def _credentials(role_arn: str, seconds: int = 3600) -> dict:
    return {"name": "Assume the role (OIDC)", "uses": CREDENTIALS,
            "with": {"role-to-assume": role_arn, "aws-region": "${{ env.AWS_REGION }}", "role-duration-seconds": seconds}}


def _release_job(cfg: Config, role_arn: str, tool: dict | None) -> dict:
    steps = [
        {"uses": CHECKOUT},
        _credentials(role_arn, 7200 if tool else 3600),
        {"name": "Log in to ECR", "id": "ecr", "uses": ECR_LOGIN},
        {"name": "Build the image", "run": 'docker build -t "$REGISTRY/$ECR_REPOSITORY:$IMAGE_TAG" .',
         "env": {"REGISTRY": "${{ steps.ecr.outputs.registry }}"}},
        {"name": "Push by tag and print the digest", "env": {"REGISTRY": "${{ steps.ecr.outputs.registry }}"},
         "run": 'docker push "$REGISTRY/$ECR_REPOSITORY:$IMAGE_TAG"\n'
                'digest=$(docker inspect --format "{{index .RepoDigests 0}}" "$REGISTRY/$ECR_REPOSITORY:$IMAGE_TAG")\n'
                'echo "pushed $digest" | tee -a "$GITHUB_STEP_SUMMARY"\n'},
    ]  # fmt: skip
    if tool:
        steps += [*_install(tool),
                  {"name": "Deploy this image through change sets",
                   "run": f'enrollcfn deploy --stack {tool["stack"]} --config {tool["config"]} --yes --image-tag "$IMAGE_TAG"'}]
    job = {"if": "github.event_name == 'push'", "runs-on": "ubuntu-latest", "steps": steps}
    if cfg.delivery.environment:
        job = {"environment": cfg.delivery.environment, **job}  # the token's sub is then the environment's
    return job


def _plan_job(cfg: Config, role_arn: str, tool: dict) -> dict:
    plan = f'enrollcfn plan --stack {tool["stack"]} --config {tool["config"]} || test $? -eq {EXIT_PENDING}'
    steps = [{"uses": CHECKOUT}, {"name": "Build the image (not pushed)", "run": "docker build ."},
             _credentials(role_arn), *_install(tool), {"name": "Plan (exit 2: changes pending)", "run": plan}]
    return {"if": "github.event_name == 'pull_request'", "runs-on": "ubuntu-latest", "steps": steps}


def _build_job(cfg: Config) -> dict:
    steps = [{"uses": CHECKOUT}, {"name": "Build the image (not pushed)", "run": "docker build ."}]
    return {"if": "github.event_name == 'pull_request'", "runs-on": "ubuntu-latest", "steps": steps}


def _install(tool: dict) -> list[dict]:
    return [{"uses": SETUP_PYTHON, "with": {"python-version": "3.12"}},
            {"name": "Install enrollcfn", "run": f'pip install "{tool["install"]}"'}]
