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

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

import yaml

from enrollcfn.config import Config
from enrollcfn.config.delivery import CI_TAG_PREFIX
from enrollcfn.errors import EnrollcfnError
from enrollcfn.exits import EXIT_PENDING
from enrollcfn.templates.delivery import DELIVERY_ROLE_ARN, PLAN_ROLE_ARN

CHECKOUT = "actions/checkout@v4"
CREDENTIALS = "aws-actions/configure-aws-credentials@v4"
ECR_LOGIN = "aws-actions/amazon-ecr-login@v2"
SETUP_PYTHON = "actions/setup-python@v5"


# What --install accepts. enrollcfn is not on PyPI, so `pip install enrollcfn==X` cannot work: the
# workflow installs a commit of a git repository, or a wheel whose sha256 pip checks.
INSTALL_FORMS = ("git+https://HOST/OWNER/REPO@<40-hex commit>, "
                 "https://.../enrollcfn-<version>-py3-none-any.whl with --sha256 HEX, "
                 "or a wheel committed to the application repository (a relative path like dist/enrollcfn-<version>-py3-none-any.whl) with --sha256 HEX")
_GIT = re.compile(r"git\+https://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~-]+)+@[0-9a-f]{40}")
_WHEEL = re.compile(r"enrollcfn-[0-9][A-Za-z0-9._+!]*-[^-/]+-[^-/]+-[^-/]+\.whl")  # PEP 427: name-version(-build)?-py-abi-platform.whl
_SHA256 = re.compile(r"[0-9a-f]{64}")


def install_steps(spec: str | None, sha256: str | None = None) -> list[dict]:
    """The workflow steps that install enrollcfn from `spec` (--install), checked; EnrollcfnError
    ("--install" or "--sha256", one line saying what is allowed) otherwise.

    - git+https://HOST/PATH@<40-hex commit>: a full commit (a branch or tag can move); pip cannot
      hash a VCS checkout, so --sha256 is refused with it.
    - https://.../enrollcfn-*.whl with --sha256: pip downloads the wheel and refuses it unless its
      sha256 matches (the `#sha256=` fragment of a direct reference is checked like --hash).
    - a relative path to enrollcfn-*.whl inside the application repository, with --sha256.

    Only enrollcfn's own archive is hash-checked: its dependencies come from PyPI, at the exact
    versions the wheel pins (troposphere, awacs, cfn-lint, pydantic; boto3 within a minor). pip's
    --require-hashes mode would need a hash for every one of them (a lock file of the whole tree),
    and --no-deps alone would install an enrollcfn that cannot import them.
    """
    if not spec:
        raise EnrollcfnError("--install", f"enrollcfn is not on PyPI: say what the workflow installs: {INSTALL_FORMS}")
    spec = spec.strip()
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if not _SHA256.fullmatch(sha256):
            raise EnrollcfnError("--sha256", f"{sha256!r} is not a sha256 (64 hex digits, as `sha256sum WHEEL` prints)")
    if spec.startswith("git+"):
        if not _GIT.fullmatch(spec):
            raise EnrollcfnError("--install", f"{spec!r}: a git install must be git+https://HOST/OWNER/REPO@<full 40-hex commit> "
                                              "(a branch or tag can move; ssh has no key in the runner)")
        if sha256:
            raise EnrollcfnError("--sha256", "pip cannot check a hash of a git checkout: the full commit pins it; drop --sha256")
        return _setup_and(f'pip install "enrollcfn @ {spec}"')
    if spec.startswith("https://"):
        name = spec.rsplit("/", 1)[-1]
        if re.search(r"[\s\"'#?]", spec) or not _WHEEL.fullmatch(name):
            raise EnrollcfnError("--install", f"{spec!r}: a URL must end in an enrollcfn wheel's file name "
                                              "(enrollcfn-<version>-py3-none-any.whl), without a query or fragment")
        url = spec
    elif "://" in spec or spec.startswith(("/", "~")) or ":" in spec.split("/", 1)[0]:
        raise EnrollcfnError("--install", f"{spec!r} is not one of: {INSTALL_FORMS}")
    else:
        path = PurePosixPath(spec)
        if ".." in path.parts or "\\" in spec or re.search(r"[\s\"'$`#?]", spec) or not _WHEEL.fullmatch(path.name):
            if spec.startswith("enrollcfn") and not spec.endswith(".whl"):
                raise EnrollcfnError("--install", f"{spec!r}: enrollcfn is not on PyPI; pass one of: {INSTALL_FORMS}")
            raise EnrollcfnError("--install", f"{spec!r}: a wheel in the application repository is a relative path inside it, "
                                              "ending in enrollcfn-<version>-py3-none-any.whl")
        url = "file://$GITHUB_WORKSPACE/" + str(path)  # the shell expands it: the checkout's absolute path
    if not sha256:
        raise EnrollcfnError("--sha256", f"a wheel needs its sha256 (pip refuses the file unless it matches): pass --sha256 with {spec!r}")
    return _setup_and(f'pip install "enrollcfn @ {url}#sha256={sha256}"')


def _setup_and(command: str) -> list[dict]:
    return [{"uses": SETUP_PYTHON, "with": {"python-version": "3.12"}},
            {"name": "Install enrollcfn", "run": command}]


def tag_expression(cfg: Config) -> str:
    """The tag each push gets: the commit, after the prefix that decides who deploys it."""
    prefix = CI_TAG_PREFIX if cfg.delivery.release == "deploy" else cfg.registry.redeploy_tag_prefix
    return prefix + "${{ github.sha }}"


def render(cfg: Config, stack: str, roles: dict[str, str], install: Sequence[dict] | None, config_path: str) -> str:
    """The workflow YAML for root stack `stack`; `roles` are the delivery stack's outputs,
    `install` the steps install_steps() returned, `config_path` the config in the app repository.
    Only release: deploy installs enrollcfn; then no `install` is an EnrollcfnError saying what to pass."""
    d = cfg.delivery
    deploys = d.release == "deploy"
    if deploys and not install:
        install = install_steps(None)  # raises: what --install accepts
    tool = {"install": list(install or ()), "config": config_path, "stack": stack}
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
    return [dict(step) for step in tool["install"]]
