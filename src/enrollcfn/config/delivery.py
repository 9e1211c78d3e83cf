"""Delivery from CI: which GitHub repository, branch or environment may assume the delivery role
(GitHub's OpenID Connect provider, no stored access keys), and how a release reaches the service.

An empty string leaves a key unset. The trust policy compares the token's `sub` claim with
StringEquals, so a value here is matched literally; wildcards are refused anyway, so that no
config can read as if it trusted more (or less) than it does.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, model_validator
from pydantic_core import PydanticCustomError

from enrollcfn.config._base import Bool, Section, Text, rules

# GitHub's OIDC issuer and the audience aws-actions/configure-aws-credentials asks for
# (docs.github.com, "Configuring OpenID Connect in Amazon Web Services").
GITHUB_ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
# With release: deploy, CI pushes ci-<commit sha> and deploys that tag itself; it must not start
# with registry.redeploy_tag_prefix, or the redeploy function would deploy it a second time.
CI_TAG_PREFIX = "ci-"


def _fail(value: str, message: str):
    shown = value if len(value) <= 60 else value[:57] + "..."
    raise PydanticCustomError("bad_value", "{message}", {"message": f"{shown!r} {message}"})


def _ascii_only(value: str, allowed: str) -> None:
    """Names that reach trust policies are compared as strings: a look-alike or invisible
    character (Cyrillic 'а', a zero-width space) would name another subject than the one read."""
    if not value.isascii() or not value.isprintable():
        bad = next(c for c in value if not (c.isascii() and c.isprintable()))
        _fail(value, f"holds {ascii(bad)[1:-1]}, which is not a printable ASCII character; use only {allowed}")


def _no_wildcard(value: str, what: str) -> None:
    if "*" in value or "?" in value:
        _fail(value, f"holds a wildcard; name one {what} exactly (the role trusts only the subjects written here)")


# GitHub account (user or organisation) names: 1-39 letters, digits and single hyphens, not
# starting or ending with a hyphen. Repository names: 1-100 letters, digits, '.', '_' and '-',
# not '.' or '..' (GitHub renames a name ending in .git, so it is refused).
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_REPO = r"(?!\.{1,2}$)(?!.*\.git$)[A-Za-z0-9._-]{1,100}"


def _exact(what: str, pattern: str, message: str, allowed: str):
    """A check for one `what` named exactly: empty (unset), or ASCII, no wildcard and the whole of `pattern`."""
    def check(value: str) -> str:
        if value:
            _ascii_only(value, allowed)
            _no_wildcard(value, what)
            if not re.fullmatch(pattern, value):
                _fail(value, message)
        return value
    return check


_repository = _exact("repository", f"{_OWNER}/{_REPO}", "is not a GitHub repository: write owner/name (owner: 1-39 letters, "
                     "digits and single hyphens; name: 1-100 letters, digits, '.', '_' and '-')",
                     "A-Z a-z 0-9 and '/', '.', '_', '-'")


_BRANCH_ALLOWED = "A-Z a-z 0-9 and '.', '_', '/', '+', '-'"


def _branch(value: str) -> str:
    """A branch name git accepts (git check-ref-format), without refs/heads/."""
    if value:
        _ascii_only(value, _BRANCH_ALLOWED)
        _no_wildcard(value, "branch")
        if not re.fullmatch(r"[A-Za-z0-9._/+-]+", value):
            _fail(value, f"is not a branch name here: use only {_BRANCH_ALLOWED}")
        parts = value.split("/")
        bad = (len(value) > 255 or value.startswith(("-", "refs/")) or value.endswith((".", ".lock")) or ".." in value
               or "@{" in value or value == "@" or re.search(r"[\x00-\x20~^:\[\\\x7f]", value)
               or any(not p or p.startswith(".") or p.endswith(".lock") for p in parts))  # fmt: skip
        if bad:
            _fail(value, "is not a branch name: no spaces, '~', '^', ':', '[', '\\', '..', '@{', no empty or '.'-led "
                         "parts, not ending in '.' or '.lock', without refs/heads/")
    return value


# A GitHub environment name (at most 255 characters); ':' would end the sub claim's field.
_environment = _exact("environment", r"[A-Za-z0-9_.-]{1,255}", "is not an environment name here: use 1-255 letters, digits, '_', '.' and '-'",
                      "A-Z a-z 0-9 and '_', '.', '-'")
# The workflow file that may assume the roles, pinned in the trust by the token's job_workflow_ref
# claim (`<owner>/<repo>/<path>@<ref>`, GitHub's "OpenID Connect reference",
# https://docs.github.com/en/actions/reference/security/oidc). Default: where `enrollcfn
# ci-workflow` says to commit what it writes.
DEFAULT_WORKFLOW = ".github/workflows/deploy.yml"
_workflow = _exact("workflow file", r"\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml",
                   "is not a workflow file: .github/workflows/<name>.yml (letters, digits, '_', '.', '-')", "A-Z a-z 0-9 and '/', '_', '.', '-'")


def _provider_arn(value: str) -> str:
    if value and not re.fullmatch(rf"arn:aws(-cn|-us-gov)?:iam::[0-9]{{12}}:oidc-provider/{re.escape(GITHUB_ISSUER)}", value):
        _fail(value, f"is not the ARN of an IAM OIDC provider for {GITHUB_ISSUER} "
                     f"(arn:aws:iam::<account>:oidc-provider/{GITHUB_ISSUER})")
    return value


def _role_name(value: str) -> str:
    # IAM role names: 1-64 of letters, digits and +=,.@_- (IAM API Reference, CreateRole).
    if value and not re.fullmatch(r"[\w+=,.@-]{1,64}", value, re.ASCII):
        _fail(value, "is not an IAM role name: 1-64 letters, digits and '+=,.@_-' (the name, not the ARN)")
    return value


Repository = Annotated[Text, AfterValidator(_repository)]
Branch = Annotated[Text, AfterValidator(_branch)]
Environment = Annotated[Text, AfterValidator(_environment)]
Workflow = Annotated[Text, AfterValidator(_workflow)]
ProviderArn = Annotated[Text, AfterValidator(_provider_arn)]
RoleName = Annotated[Text, AfterValidator(_role_name)]


class Delivery(Section):
    """The standalone NAME-delivery stack (off by default): the OIDC provider and the roles
    GitHub Actions assumes."""

    enabled: Bool = False  # fix: the seed pushed with long-lived access keys stored in GitHub
    repository: Repository = ""  # owner/name of the application repository
    branch: Branch = "main"  # pushes to it may assume the role (sub repo:OWNER/REPO:ref:refs/heads/BRANCH)
    environment: Environment = ""  # jobs in this GitHub environment may (sub repo:OWNER/REPO:environment:NAME)
    # Only jobs of this workflow file may assume the roles (job_workflow_ref); empty: any workflow
    # of the repository whose token has a trusted subject.
    workflow: Workflow = DEFAULT_WORKFLOW
    # An account holds one IAM OIDC provider per issuer URL: the first delivery stack of an
    # account creates it (and keeps it on delete); every other one names it here.
    provider_arn: ProviderArn = ""
    # redeploy: CI only pushes a registry.redeploy_tag_prefix tag; the redeploy stack deploys it.
    # deploy: CI runs `enrollcfn deploy --yes` through change sets executed by execution_role_name.
    release: Literal["deploy", "redeploy"] = "redeploy"
    # The CloudFormation service role every change set of the root stack runs as with release:
    # deploy (an existing role, named here; the delivery roles may pass only it, only to CloudFormation).
    execution_role_name: RoleName = ""
    plan_pull_requests: Bool = True  # deploy only: a plan-only role for pull requests of the repository

    @model_validator(mode="after")
    def _complete(self) -> Delivery:
        """When enabled: a repository, a branch or an environment, and for CI deploys the role they run as."""
        if not self.enabled:
            return self
        problems = []
        if not self.repository:
            problems.append(("delivery.repository", "is required when delivery.enabled is true: owner/name of the GitHub repository"))
        if not self.branch and not self.environment:
            problems.append(("delivery.branch", "set a branch or delivery.environment (or both): the role trusts only those subjects"))
        if self.release == "deploy" and not self.execution_role_name:
            problems.append(("delivery.execution_role_name", "is required with release: deploy (the CloudFormation service role the "
                                                             "deploys run as); or set release: redeploy"))
        rules(problems)
        return self

    def subjects(self) -> list[str]:
        """The `sub` claims the delivery role trusts (GitHub's formats for a branch and an environment)."""
        repo = f"repo:{self.repository}"
        return [s for s, on in ((f"{repo}:ref:refs/heads/{self.branch}", self.branch), (f"{repo}:environment:{self.environment}", self.environment)) if on]

    def workflow_refs(self) -> list[str]:
        """The job_workflow_ref claims the delivery role trusts: the workflow file on the branch
        (a job in the environment runs on it too); any ref when only an environment is set."""
        if not self.workflow:
            return []
        ref = f"refs/heads/{self.branch}" if self.branch else "*"
        return [f"{self.repository}/{self.workflow}@{ref}"]

    def pull_request_workflow_refs(self) -> list[str]:
        """The job_workflow_ref of the workflow run for a pull request (`refs/pull/<n>/merge`)."""
        return [f"{self.repository}/{self.workflow}@refs/pull/*/merge"] if self.workflow else []

    def pull_request_subject(self) -> str:
        """The `sub` claim of a workflow run for a pull request that references no environment."""
        return f"repo:{self.repository}:pull_request"

    @property
    def plans(self) -> bool:
        """True when a plan role for pull requests is built (only CI that deploys has anything to plan)."""
        return self.release == "deploy" and self.plan_pull_requests
