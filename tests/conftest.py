"""Shared fixtures: the default config compiled once per session."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import tempfile
from importlib import resources
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from enrollcfn.compiler import compile
from enrollcfn.config import Config


PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the checkout the tests read facts from (README, lambda/, config/)
# The tests run from it: build/ and config/ paths are the working directory's, as a user's are.
os.chdir(PROJECT_ROOT)

# The tests' cache lives and dies with the run, never in the user's ~/.cache; it starts empty, so
# the run is cold whatever the environment says, and the cache tests switch it off themselves.
# The stand-in image (tests/test_seed_app.py) is keyed by everything it is built from, so it keeps
# the user's cache: a cold build takes about a minute.
os.environ.setdefault("ENROLLCFN_STANDIN_CACHE", str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "enrollcfn" / "standin"))
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="enrollcfn-test-cache-")
os.environ.pop("ENROLLCFN_NO_CACHE", None)


def run_cli(*argv: str, client_factory=None) -> tuple[int, str, str]:
    """`enrollcfn ARGV` in this process: (exit code, stdout, stderr)."""
    import contextlib
    import io

    from enrollcfn.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv), client_factory=client_factory)
    return code, out.getvalue(), err.getvalue()


def stubbed(service: str, region: str = "ap-southeast-2"):
    """A fixture body: a `service` client under botocore's Stubber (as `client.stub`); every queued
    response must have been used when the test ends."""
    client = boto3.client(service, region_name=region, aws_access_key_id="test", aws_secret_access_key="test")
    with Stubber(client) as stub:
        client.stub = stub
        yield client
        stub.assert_no_pending_responses()


@pytest.fixture(scope="session")
def compiled():
    """The default (seed) config, compiled in memory."""
    return compile(Config())


@pytest.fixture(scope="session")
def rendered(compiled):
    """Each compiled template as a plain dict (intrinsics in long form), keyed by stack name."""
    return {name: stack.doc for name, stack in compiled.stacks.items()}


@functools.cache
def resource_schema(type_name: str) -> dict:
    """cfn-lint's bundled CloudFormation registry schema of `type_name` (an independent source of
    AWS's limits and handler permissions)."""
    providers = json.loads(resources.files("cfnlint.data.schemas.providers").joinpath("ap-southeast-2.json").read_text())
    return json.loads(resources.files("cfnlint.data.schemas.resources").joinpath(providers[type_name] + ".json").read_text())


def load_function(name: str, module_name: str | None = None):
    """lambda/<name>/index.py imported as Lambda runs it: a module of its own, by file."""
    spec = importlib.util.spec_from_file_location(module_name or f"{name}_index", PROJECT_ROOT / "lambda" / name / "index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resources_of(template: dict, type_: str) -> dict:
    """The resources of one CloudFormation type in a rendered template, by logical id."""
    return {k: v for k, v in template.get("Resources", {}).items() if v["Type"] == type_}


def intrinsics(node, name: str) -> list:
    """Every argument of intrinsic `name` (e.g. "Fn::GetAtt") anywhere under `node`."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == name:
                found.append(value)
            found.extend(intrinsics(value, name))
    elif isinstance(node, list):
        for item in node:
            found.extend(intrinsics(item, name))
    return found


__all__ = ["PROJECT_ROOT", "intrinsics", "load_function", "resource_schema", "resources_of", "stubbed", "yaml"]


# The slow lane: modules that deploy on the local AWS, run the local Fargate, lint whole builds in
# fresh processes or compile every region. `make test-fast` leaves them out (`-m "not slow"`);
# `make test` and CI run everything.
SLOW_MODULES = {
    "test_deploy_e2e", "test_operations_e2e", "test_environments_e2e", "test_teardown_e2e", "test_project_envs_e2e", "test_seed_app",
    "test_standin", "test_delivery", "test_lint", "test_regions", "test_bad_configs", "test_stacksets", "test_publish_cli",
    "test_artifact_writers", "test_fuzz", "test_dev_network", "test_config", "test_compiler", "test_physical_names", "test_inputs",
    "test_outputs", "test_control_tower", "test_adopt_e2e", "test_local_session",
    "test_custom_resource_lambdas",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
