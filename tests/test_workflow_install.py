"""What the ci-workflow's install step installs: enrollcfn is not on PyPI, so the step installs a
full git commit or a wheel pip checks against its sha256. The hash line is proven by pip itself,
offline: a wheel of this checkout (`pip wheel --no-deps`), its real sha256 from hashlib, and the
workflow's own run line executed by bash with `pip` resolving to pip --dry-run --no-index
--no-deps (no network, nothing installed)."""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pip._vendor.packaging.requirements import Requirement

from enrollcfn.config import Config
from enrollcfn.errors import EnrollcfnError
from enrollcfn.workflow import install_steps, render

ROOT = Path(__file__).resolve().parent.parent
COMMIT = "0123456789abcdef0123456789abcdef01234567"
HEX = "ab" * 32
ROLES = {"DeliveryRoleArn": "arn:aws:iam::111122223333:role/d", "PlanRoleArn": "arn:aws:iam::111122223333:role/p"}
DEPLOYS = {"enabled": True, "repository": "acme/app", "branch": "main", "release": "deploy", "execution_role_name": "acme-cfn-exec"}


def run_line(steps: list[dict]) -> str:
    [line] = [s["run"] for s in steps if s.get("name") == "Install enrollcfn"]
    return line


def requirement(steps: list[dict]) -> Requirement:
    """The requirement the step hands pip, parsed by pip's own (vendored) packaging."""
    argv = shlex.split(run_line(steps))
    assert argv[:2] == ["pip", "install"] and len(argv) == 3, argv
    return Requirement(argv[2])


def test_a_full_git_commit_installs_that_commit():
    req = requirement(install_steps(f"git+https://github.com/acme/enrollcfn@{COMMIT}"))
    assert req.name == "enrollcfn" and req.url == f"git+https://github.com/acme/enrollcfn@{COMMIT}"


def test_a_wheel_url_carries_its_sha256_for_pip_to_check():
    req = requirement(install_steps("https://example.com/r/enrollcfn-0.1.0-py3-none-any.whl", HEX.upper()))
    assert req.name == "enrollcfn" and req.url == f"https://example.com/r/enrollcfn-0.1.0-py3-none-any.whl#sha256={HEX}"


@pytest.mark.parametrize("spec, sha256, key, says", [
    (None, None, "--install", "not on PyPI"),
    ("", None, "--install", "not on PyPI"),
    ("enrollcfn==0.1.0", None, "--install", "not on PyPI"),
    ("enrollcfn", None, "--install", "not on PyPI"),
    ("git+https://github.com/acme/enrollcfn@main", None, "--install", "40-hex commit"),
    ("git+https://github.com/acme/enrollcfn@v0.1.0", None, "--install", "40-hex commit"),
    (f"git+https://github.com/acme/enrollcfn@{COMMIT[:7]}", None, "--install", "40-hex commit"),
    (f"git+ssh://git@github.com/acme/enrollcfn@{COMMIT}", None, "--install", "40-hex commit"),
    (f"git+https://github.com/acme/enrollcfn@{COMMIT}", HEX, "--sha256", "git checkout"),
    ("https://example.com/enrollcfn-0.1.0-py3-none-any.whl", None, "--sha256", "needs its sha256"),
    ("https://example.com/enrollcfn-0.1.0.tar.gz", HEX, "--install", "wheel"),
    ("https://example.com/other-0.1.0-py3-none-any.whl", HEX, "--install", "wheel"),
    ("https://example.com/enrollcfn-0.1.0-py3-none-any.whl#sha256=" + HEX, HEX, "--install", "fragment"),
    ("http://example.com/enrollcfn-0.1.0-py3-none-any.whl", HEX, "--install", "is not one of"),
    ("dist/enrollcfn-0.1.0-py3-none-any.whl", None, "--sha256", "needs its sha256"),
    ("dist/enrollcfn-0.1.0-py3-none-any.whl", "abc", "--sha256", "64 hex"),
    ("../enrollcfn-0.1.0-py3-none-any.whl", HEX, "--install", "relative path inside it"),
    ("/opt/enrollcfn-0.1.0-py3-none-any.whl", HEX, "--install", "is not one of"),
    ("dist/$(id)enrollcfn-0.1.0-py3-none-any.whl", HEX, "--install", "relative path inside it"),
])  # fmt: skip
def test_what_cannot_work_is_one_line_saying_what_is_allowed(spec, sha256, key, says):
    with pytest.raises(EnrollcfnError) as caught:
        install_steps(spec, sha256)
    assert caught.value.key == key and says in caught.value.message and "\n" not in str(caught.value), caught.value


def test_render_without_an_install_says_what_to_pass_and_only_when_the_workflow_installs():
    with pytest.raises(EnrollcfnError, match="^--install: enrollcfn is not on PyPI"):
        render(Config(delivery=DEPLOYS), "se-prod", ROLES, None, "enrollcfn.yaml")
    with pytest.raises(EnrollcfnError, match="^--install: 'enrollcfn==0.1.0'"):  # not on PyPI: refused as a spec
        install_steps("enrollcfn==0.1.0")
    pushes = {**DEPLOYS, "release": "redeploy"}
    pushes.pop("execution_role_name")
    assert "Install enrollcfn" not in render(Config(delivery=pushes), "se-prod", ROLES, None, "enrollcfn.yaml")


def test_render_uses_the_steps_in_both_jobs_that_run_enrollcfn():
    steps = install_steps(f"git+https://github.com/acme/enrollcfn@{COMMIT}")
    doc = yaml.safe_load(render(Config(delivery={**DEPLOYS, "plan_pull_requests": True}), "se-prod", ROLES, steps, "enrollcfn.yaml"))
    for job in ("release", "plan"):
        runs = [s.get("run", "") for s in doc["jobs"][job]["steps"]]
        install = runs.index(run_line(steps))
        assert any(r.startswith("enrollcfn ") for r in runs[install + 1:]), job  # installed before it is run


# --- pip itself, offline ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    [built] = out.glob("enrollcfn-*.whl")
    return built


def pip_runs(line: str, workspace: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """The workflow's run line under bash, as the runner runs it, with `pip` as pip --dry-run
    --no-index --no-deps (offline; the dependencies come from PyPI in the workflow)."""
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "pip").write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m pip "$@" --dry-run --no-index --no-deps '
                              "--no-cache-dir --disable-pip-version-check\n")
    (shim / "pip").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "GITHUB_WORKSPACE": str(workspace)}
    return subprocess.run(["bash", "-e", "-c", line], env=env, cwd=workspace, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_pip_installs_the_committed_wheel_with_its_real_sha256_and_refuses_another(wheel, tmp_path):
    workspace = tmp_path / "app"
    (workspace / "dist").mkdir(parents=True)
    (workspace / "dist" / wheel.name).write_bytes(wheel.read_bytes())
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()

    good = pip_runs(run_line(install_steps(f"dist/{wheel.name}", digest)), workspace, tmp_path)
    assert good.returncode == 0 and "Would install enrollcfn-" in good.stdout, good.stderr

    wrong = hashlib.sha256(b"another wheel").hexdigest()
    bad = pip_runs(run_line(install_steps(f"dist/{wheel.name}", wrong)), workspace, tmp_path)
    assert bad.returncode != 0 and f"Expected sha256 {wrong}" in bad.stderr and f"Got        {digest}" in bad.stderr, bad.stderr
