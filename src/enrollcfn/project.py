"""The project file `enrollcfn.yaml`: every environment by name, with its config file, root stack,
account, region and (optionally) AWS profile, so that a stack is never paired with another
environment's config by hand.

    environments:
      production:
        config: config/production.yaml   # relative to this file
        stack: se-prod
        account: "123456789012"
        region: ap-southeast-2
        profile: prod-admin              # optional: the AWS profile to use (--profile wins)

Where it is found: the file ENROLLCFN_PROJECT names; otherwise `enrollcfn.yaml` in the working
directory, then in each parent in turn, up to and including the top of the git repository (the
first directory holding `.git`), or up to the filesystem root outside a repository. The search
never climbs out of a repository, so a project file above it cannot name this repository's
environments. A file of that name without a top-level `environments` key (an application
repository's config may be called enrollcfn.yaml, see `ci-workflow --repo-config`) is not a project
file and the search goes on above it.

It is read by `enrollcfn.inputs` (a regular file of at most 64 KiB, UTF-8, YAML 1.2) and checked
by the small model below; every problem is one line keyed by its dotted path in the file.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationError, model_validator

from enrollcfn import inputs
from enrollcfn.config._base import Section, Text, check, rules
from enrollcfn.config.problems import translate
from enrollcfn.config.regions import known_regions
from enrollcfn.errors import ConfigError, EnrollcfnError, Problems

FILE_NAME = "enrollcfn.yaml"
ENV_VARIABLE = "ENROLLCFN_PROJECT"
MAX_ENVIRONMENTS = 100

# CloudFormation: "A stack name can contain only alphanumeric characters (case-sensitive) and
# hyphens. It must start with an alphabetic character and can't be longer than 128 characters."
STACK_NAME = r"[A-Za-z][-A-Za-z0-9]{0,127}"
# The environment is typed on the command line as a positional word: never an option, no spaces.
ENVIRONMENT_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}"


def _region(value: str) -> str:
    if value not in known_regions():
        from pydantic_core import PydanticCustomError

        raise PydanticCustomError("bad_value", "{message}", {"message": f"{value[:40]!r} is not a region the stacks can use "
                                                             f"(known: {', '.join(known_regions())})"})
    return value


class Environment(Section):
    """One environment: which config deploys to which stack, in which account and region."""

    config: Annotated[Text, Field(min_length=1, max_length=1024)]
    stack: Annotated[Text, check(STACK_NAME, "is not a CloudFormation stack name: a letter, then up to 127 letters, digits and hyphens")]
    account: Annotated[Text, check(r"[0-9]{12}", "is not an AWS account id: 12 digits (quote it in YAML)")]
    region: Annotated[Text, AfterValidator(_region)]
    profile: Annotated[Text, check(r"[A-Za-z0-9_.+=,@/-]{1,128}", "is not an AWS profile name: 1-128 letters, digits and _.+=,@/-")] | None = None


EnvironmentName = Annotated[Text, check(ENVIRONMENT_NAME, "is not an environment name: a letter or digit, then up to 62 letters, digits and _.-")]


class ProjectModel(Section):
    """The document: `environments`, one entry per environment."""

    environments: Annotated[dict[EnvironmentName, Environment], Field(min_length=1, max_length=MAX_ENVIRONMENTS)]

    @model_validator(mode="after")
    def _distinct(self) -> ProjectModel:
        """Two environments cannot share a stack in one account and region."""
        seen: dict[tuple[str, str, str], str] = {}
        out = []
        for name, env in self.environments.items():
            where = (env.account, env.region, env.stack)
            if where in seen:
                out.append((f"environments.{name}.stack", f"{env.stack} is environment {seen[where]}'s stack too (same account and "
                            "region); each environment has its own stack"))
            seen.setdefault(where, name)
        rules(out)
        return self


@dataclass(frozen=True)
class Env:
    """One environment of the project file, its config path made absolute."""

    name: str
    config: Path
    stack: str
    account: str
    region: str
    profile: str | None = None

    def shown_config(self, base: Path) -> str:
        """The config path as the project file writes it (relative to `base` when it lies below)."""
        try:
            return str(self.config.relative_to(base))
        except ValueError:
            return str(self.config)


@dataclass(frozen=True)
class Project:
    """The project file that was found, and its environments in the order it lists them."""

    path: Path
    environments: dict[str, Env]

    def get(self, name: str) -> Env:
        """The environment `name`; one line with the closest name and every name otherwise."""
        if name in self.environments:
            return self.environments[name]
        raise EnrollcfnError(name, f"no such environment in {self.path}; {self.suggest(name, self.environments)}")

    def by_stack(self, stack: str) -> Env | None:
        """The environment whose root stack is `stack` (the first listed), or None."""
        return next((e for e in self.environments.values() if e.stack == stack), None)

    def suggest(self, word: str, candidates) -> str:
        """'did you mean X? the environments are: a (stack-a), b (stack-b)'."""
        close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
        listed = ", ".join(f"{e.name} ({e.stack})" for e in self.environments.values())
        return (f"did you mean {close[0]}? " if close else "") + f"the environments are: {listed}"

    @property
    def base(self) -> Path:
        return self.path.parent


def boundary(start: Path) -> Path:
    """Where the search stops: the top of the git repository around `start`, else the root."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return Path(start.anchor)


def find(start: Path | None = None) -> Project | None:
    """The project file (ENROLLCFN_PROJECT, else found upward from `start`, by default the
    working directory), or None when there is none."""
    named = os.environ.get(ENV_VARIABLE)
    if named:
        project = load(Path(named), ENV_VARIABLE)
        if project is None:
            raise EnrollcfnError(ENV_VARIABLE, f"{named} has no `environments` key, so it is not a project file; "
                                 "name a file listing the environments, or unset it")
        return project
    start = (start or Path.cwd()).absolute()
    top = boundary(start)
    for directory in (start, *start.parents):
        candidate = directory / FILE_NAME
        if candidate.is_file():
            project = load(candidate, FILE_NAME)
            if project is not None:
                return project
        if directory == top:
            break
    return None


def searched(start: Path | None = None) -> str:
    """Where `find` looks, for messages."""
    if os.environ.get(ENV_VARIABLE):
        return f"{ENV_VARIABLE}={os.environ[ENV_VARIABLE]}"
    start = (start or Path.cwd()).absolute()
    return f"{FILE_NAME} in {start} and its parents up to {boundary(start)}"


def load(path: Path, key: str = FILE_NAME) -> Project | None:
    """The project file at `path`; None when the document has no top-level `environments` (not
    a project file); Problems (one line per problem, keyed by its dotted path) when it is bad."""
    text = inputs.read_text(path, key, "project")
    try:
        data = inputs.parse_yaml(text, "project")
    except inputs.YamlProblems as exc:
        raise Problems(key, [EnrollcfnError(f"{key}.{k}" if k else key, f"{m} (in {path})" if k else f"{path} {m}")
                             for k, m in exc.problems]) from None
    if not isinstance(data, dict) or "environments" not in data:
        return None
    try:
        model = ProjectModel.model_validate(data)
    except ValidationError as exc:
        raise Problems(key, [ConfigError(p.key, f"{p.message} (in {path})") for p in translate(exc, ProjectModel).problems]) from None
    base = path.absolute().parent
    return Project(path, {name: Env(name, base / e.config, e.stack, e.account, e.region, e.profile)
                          for name, e in model.environments.items()})
